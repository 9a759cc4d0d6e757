#include "overlay-info.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "format.h"
#include "json.h"
#include "overlay-lock.h"
#include "remote-url.h"
#include "unique-fd.h"
#include "util.h"

namespace hexz {

namespace {

bool exists(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// The first bytes of PATH are the .st magic.  Never blocks on a FIFO.
bool has_snapshot_magic(const std::string &path) {
  UniqueFd fd = open_regular(path, O_RDONLY, "a file");
  unsigned char magic[sizeof MAGIC];
  return pread_full(fd.get(), magic, sizeof magic, 0, path) == sizeof magic &&
         memcmp(magic, MAGIC, sizeof magic) == 0;
}

uint64_t blocks_of(uint64_t size) { return size / OVERLAY_BLOCK + (size % OVERLAY_BLOCK ? 1 : 0); }

}  // namespace

bool is_overlay(const std::string &path) {
  if (is_url(path)) return false;
  try {
    if (has_snapshot_magic(path)) return false;
  } catch (const Error &) {
    return false;  // missing or not a regular file: the snapshot reader says why
  }
  return exists(default_meta_path(path)) || exists(default_base_path(path));
}

std::optional<BaseRecord> describe_overlay(const std::string &path, Json *jp) {
  struct stat st;
  {
    UniqueFd fd = open_regular(path, O_RDONLY, "an overlay");
    if (fstat(fd.get(), &st) != 0) throw_errno(path + ": stat");
  }
  const std::string meta = default_meta_path(path), record = default_base_path(path);
  // read_base_record resolves a relative path= against the record's
  // directory: base->path is absolute (or a URL).
  std::optional<BaseRecord> base = read_base_record(record);
  const std::string base_path = base ? base->path : std::string();
  const bool meta_present = exists(meta);
  // With the disk size known, .meta is checked against it, as the filter does.
  std::vector<uint64_t> blocks = read_meta(meta, base ? blocks_of(base->disk_size) : UINT64_MAX);
  const uint64_t modified = blocks.size(), allocated = uint64_t(st.st_blocks) * 512;
  std::optional<OverlayHolder> holder = overlay_holder(path);

  if (jp) {
    Json &j = *jp;
    j.begin_object();
    j.key("kind").value("overlay");
    j.key("file").value(path);
    j.key("size");
    if (base) j.value(base->disk_size); else j.null_value();
    j.key("base");
    if (base)
      j.begin_object()
          .key("uuid").value(uuid_to_string(base->uuid))
          .key("path").value(base_path)
          .key("disk_size").value(base->disk_size)
          .key("present").value(is_url(base_path) || exists(base_path))
          .end_object();
    else
      j.null_value();
    j.key("base_record").value(record).key("base_record_present").value(bool(base));
    j.key("meta").value(meta).key("meta_present").value(meta_present);
    j.key("block_size").value(uint64_t(OVERLAY_BLOCK));
    j.key("modified_blocks").value(modified).key("modified_bytes").value(modified * OVERLAY_BLOCK);
    j.key("overlay_length").value(uint64_t(st.st_size)).key("allocated_bytes").value(allocated);
    j.key("lock");
    if (holder) {
      j.begin_object().key("mode").value(holder->exclusive ? "write" : "read").key("pid");
      if (holder->pid > 0) j.value(uint64_t(holder->pid)); else j.null_value();
      j.end_object();
    } else {
      j.null_value();
    }
    j.end_object();
    return base;
  }

  printf("File: %s\n", path.c_str());
  printf("Type: hexz-cow overlay\n");
  if (base) {
    printf("Virtual size: %llu (%s)\n", (unsigned long long)base->disk_size, format_size(base->disk_size).c_str());
    printf("Base: %s (UUID %s)%s\n", base_path.c_str(), uuid_to_string(base->uuid).c_str(),
           is_url(base_path) || exists(base_path) ? "" : ", missing");
  } else {
    printf("Virtual size: unknown (no base record)\n");
    printf("Base: not recorded (no %s: written over a raw image or another plugin, or never opened)\n",
           record.c_str());
  }
  if (meta_present)
    printf("Modified blocks: %llu (%s, %u bytes each), listed in %s\n", (unsigned long long)modified,
           format_size(modified * OVERLAY_BLOCK).c_str(), OVERLAY_BLOCK, meta.c_str());
  else
    printf("Modified blocks: 0 (no %s: nothing was flushed)\n", meta.c_str());
  printf("Overlay file: %llu bytes long, %llu (%s) allocated\n", (unsigned long long)st.st_size,
         (unsigned long long)allocated, format_size(allocated).c_str());
  if (holder)
    printf("Lock: in use by %s, %s\n", describe_holder(*holder).c_str(),
           holder->exclusive ? "writing" : "read-only");
  else
    printf("Lock: not in use\n");
  return base;
}

}  // namespace hexz
