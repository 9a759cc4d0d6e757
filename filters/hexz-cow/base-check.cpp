#include "base-check.h"

#include "error.h"
#include "image-format.h"
#include "remote-url.h"
#include "snapshot.h"
#include "util.h"

namespace hexz_cow {

std::optional<hexz::BaseRecord> snapshot_record(const std::string &file) {
  // A URL comes from the hexz plugin's url= (or file=URL): a snapshot.
  if (file.empty() || (!hexz::is_url(file) && !hexz::starts_with_snapshot_magic(file))) return std::nullopt;
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
  // Also when the stored path= is not the relative form (a record written
  // with an absolute path), so that the overlay and base can move together.
  if (!old || old->uuid != now.uuid || old->path != now.path || old->disk_size != now.disk_size ||
      old->stored != hexz::relative_path(now.path, hexz::dir_name(base_path)))
    hexz::write_base_record(base_path, now);
}

}  // namespace hexz_cow
