#include "base-check.h"

#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "error.h"
#include "remote-url.h"
#include "format.h"
#include "snapshot.h"
#include "unique-fd.h"
#include "util.h"

namespace hexz_cow {

namespace {

// Whether PATH starts with the .st magic (anything else: not ours to judge).
bool looks_like_snapshot(const std::string &path) {
  unsigned char magic[sizeof hexz::MAGIC];
  try {
    // Not blocking on a FIFO: a non-regular file is the plugin's to refuse.
    hexz::UniqueFd fd = hexz::open_regular(path, O_RDONLY, "file=");
    return hexz::pread_full(fd.get(), magic, sizeof magic, 0, path) == sizeof magic &&
           memcmp(magic, hexz::MAGIC, sizeof magic) == 0;
  } catch (const hexz::Error &) {
    return false;  // missing, unreadable, not a regular file: the plugin says so
  }
}

}  // namespace

std::optional<hexz::BaseRecord> snapshot_record(const std::string &file) {
  // A URL comes from the hexz plugin's url= (or file=URL): a snapshot.
  if (file.empty() || (!hexz::is_url(file) && !looks_like_snapshot(file))) return std::nullopt;
  auto snap = hexz::Snapshot::open(file);
  hexz::BaseRecord r;
  r.uuid = snap->uuid();
  r.path = hexz::absolute_path(file);
  r.disk_size = snap->stream_size(hexz::StreamId::DISK);
  return r;
}

void check_base_record(const std::string &overlay, const hexz::BaseRecord &now, bool force) {
  const std::string base_path = hexz::default_base_path(overlay);
  auto old = hexz::read_base_record(base_path);
  if (old && old->uuid != now.uuid && !force)
    throw hexz::Error(base_path + ": overlay " + overlay + " was written on top of snapshot " +
                          hexz::uuid_to_string(old->uuid) + " (" + old->path + "), but " + now.path +
                          " is snapshot " + hexz::uuid_to_string(now.uuid) +
                          "; refusing to reopen it on a different base (force=true overrides)",
                      EINVAL);
}

void update_base_record(const std::string &overlay, const hexz::BaseRecord &now) {
  const std::string base_path = hexz::default_base_path(overlay);
  auto old = hexz::read_base_record(base_path);
  if (!old || old->uuid != now.uuid || old->path != now.path || old->disk_size != now.disk_size)
    hexz::write_base_record(base_path, now);
}

}  // namespace hexz_cow
