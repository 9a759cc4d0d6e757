// How a sandboxed parser worker (sandbox.h) hands its results to hexz-diff:
// a partition table or a filesystem map, as bytes on a pipe.  The encoding
// is private to one build (host byte order, no version): both ends are the
// same program.  The decoders treat the bytes as hostile, because a worker
// that parsed guest data may have been subverted: every count is bounded by
// the bytes that are really there, every string by a length limit, every
// extent by its partition and every partition by its disk; anything else is
// rejected with WireError before it is used.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "fsmap.h"

namespace hexz::fs {

struct WireError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string encode_table(const PartitionTable &t);
// DISK_SIZE: the size the parent itself knows; every partition and table
// area must lie within it.
PartitionTable decode_table(const std::string &bytes, uint64_t disk_size);

std::string encode_fsmap(const FsMap &m);
// PART: the partition the worker was asked to map (the parent's own copy);
// every extent must lie within it and be sorted, as map_partition leaves them.
FsMap decode_fsmap(const std::string &bytes, const Partition &part);

// A file's extended attributes (name, value), as ext-files.h reads them.
using Xattrs = std::vector<std::pair<std::string, std::string>>;
std::string encode_xattrs(const Xattrs &x);
// Names must be non-empty and at most 512 bytes (a prefix and ext4's 255),
// values at most 64 KiB (the kernel's bound), sorted by name.
Xattrs decode_xattrs(const std::string &bytes);

}  // namespace hexz::fs
