// The overlay's side files (docs/format.md, section 2): the `.meta` list of
// modified 4 KiB blocks and the `.base` record of the snapshot the overlay
// sits on.  Shared by the hexz-cow filter (writer) and the tools (readers).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util.h"

namespace hexz {

inline constexpr uint32_t OVERLAY_BLOCK = 4096;

// Default side-file paths for an overlay: the overlay's whole name with
// ".meta" or ".base" appended (docs/format.md 2.2), so that two overlays of
// different names never share a side file (vm.overlay and vm.ov used to
// share vm.meta).
std::string default_meta_path(const std::string &overlay);
std::string default_base_path(const std::string &overlay);

// The other half of that rule, for every writer of an overlay: OVERLAY must
// not itself be named like a side file (ending in ".meta" or ".base"), or it
// would be the side file of the overlay named without that ending.  Throws
// Error naming both.
void check_overlay_name(const std::string &overlay);
// An explicit .meta path (the filter's meta=) for OVERLAY must not be the
// overlay, its .base, nor a side file of another existing file (X.meta or
// X.base where X exists and is not OVERLAY).  Throws Error naming both.
void check_meta_owner(const std::string &overlay, const std::string &meta);

// Reads and validates a .meta file: a regular file (opened without blocking:
// a FIFO or device is refused), length a multiple of 8 and at most
// 8 * MAX_BLOCKS (checked before reading), strictly ascending, every index <
// MAX_BLOCKS (pass UINT64_MAX when the disk size is not known).  A missing
// file gives an empty list when MISSING_OK, else an error.  Throws Error
// naming PATH and the first problem.
std::vector<uint64_t> read_meta(const std::string &path, uint64_t max_blocks, bool missing_ok = true);
// The checks read_meta makes before reading (regular file, length); returns
// the number of entries (0 for a missing file).
uint64_t check_meta_size(const std::string &path, uint64_t max_blocks);
uint64_t check_meta_size(const UniqueFd &fd, const std::string &path, uint64_t max_blocks);
// Validates an in-memory .meta image (same rules; PATH only names it).
std::vector<uint64_t> parse_meta(const std::string &bytes, uint64_t max_blocks, const std::string &path);
std::string encode_meta(const std::vector<uint64_t> &blocks);
// Atomically replaces PATH (temp file, fsync, rename, fsync of directory).
void write_meta(const std::string &path, const std::vector<uint64_t> &blocks);

struct BaseRecord {
  Uuid uuid{};
  std::string path;  // the base: an absolute path or a URL
  uint64_t disk_size = 0;
  std::string stored;  // read_base_record: path= as written in the file
};
// nullopt if the file does not exist; Error if it exists but is malformed.
// A relative path= is resolved against the record's directory (as a thin
// snapshot's parent is against the child's), so PATH is always absolute.
std::optional<BaseRecord> read_base_record(const std::string &path);
// Writes R atomically, with R.path stored relative to PATH's directory (a
// URL as it is), so that an overlay moved together with its base keeps
// finding it.
void write_base_record(const std::string &path, const BaseRecord &r);

}  // namespace hexz
