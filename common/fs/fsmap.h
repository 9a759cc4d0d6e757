// What every byte of a disk belongs to: the partition/filesystem layer used
// by hexz-diff (overlay --files and image --files).
//
//   Source &disk = ...;                     // raw file or libnbd handle
//   DiskMap m = map_disk(disk);             // partitions + one FsMap each
//   for (auto &fs : m.filesystems) ...      // fs.nodes, fs.areas, fs.extents
//
// Each FsMap is built once by reading the filesystem's own metadata (inode
// tables and extent trees through libext2fs for ext2/3/4, The Sleuth Kit for
// FAT/exFAT/NTFS/HFS+/ISO9660) and holds every file (node) with its stat and
// paths, the named metadata areas, and a sorted list of disk byte ranges
// (extents), each owned by one node or one area.  Callers then sweep sorted
// disk offsets against the extents (sweep_blocks) instead of asking per block.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "partition.h"

namespace hexz {
class Source;
}

namespace hexz::fs {

// A file, directory, symlink... (an inode): hard links are one node with
// several paths.
struct Node {
  uint64_t inode = 0;
  char type = '-';      // virt-diff's letters: - d l c b p s u
  uint32_t mode = 0;    // permission bits (07777)
  uint64_t size = 0;
  uint32_t nlink = 0, uid = 0, gid = 0;
  int64_t mtime = 0, ctime = 0;
  std::string link;     // symlink target
  std::vector<std::string> paths;  // absolute within the filesystem; "/" is the root
};

// Owner of an extent: a node (index into nodes) or, with AREA set, a
// metadata area (index into areas).
inline constexpr uint32_t AREA = 0x80000000u;

struct Extent {
  uint64_t start = 0;   // byte offset on the disk (partition offset included)
  uint64_t length = 0;  // bytes
  uint32_t owner = 0;
};

enum class FsStatus {
  OK,           // nodes/areas/extents are complete
  UNSUPPORTED,  // recognised type that hexz cannot resolve (xfs, btrfs, LVM, swap...)
  UNKNOWN,      // no signature recognised
  DAMAGED,      // recognised but unreadable; message says why
};

struct FsMap {
  Partition part;
  std::string type;  // probe_filesystem's name, "" if unknown
  FsStatus status = FsStatus::UNKNOWN;
  std::string message;  // why it is not OK
  std::vector<Node> nodes;
  std::vector<std::string> areas;  // "inode table of group 3", "journal", "$MFT", ...
  std::vector<Extent> extents;     // sorted by start, non-overlapping

  // "partition 2 (ext4)" / "whole disk (vfat)".
  std::string label() const;
  // Name of the owner of an extent: a node's first path or an area name.
  std::string owner_name(uint32_t owner) const;
};

struct DiskMap {
  uint64_t size = 0;
  PartitionTable table;
  std::vector<FsMap> filesystems;  // one per partition, in table order
};

// Reads DISK's partition table and maps every partition.  Damage in one
// partition is recorded in its FsMap (DAMAGED + message) and the others are
// still mapped.  Throws Error only when DISK itself cannot be read.
DiskMap map_disk(Source &disk);

// Maps one partition of DISK.
FsMap map_partition(Source &disk, const Partition &part);

// The partition containing byte OFF, or null.
const FsMap *partition_at(const DiskMap &m, uint64_t off);

// For every block index B (sorted ascending) of BLOCK_SIZE bytes, calls
// FN(B, extent, overlap_bytes) for each extent of EXTENTS (sorted,
// non-overlapping) that overlaps the block.  O(blocks + extents).
void sweep_blocks(const std::vector<Extent> &extents, const std::vector<uint64_t> &blocks, uint32_t block_size,
                  const std::function<void(uint64_t, const Extent &, uint64_t)> &fn);

// Sorts EXTENTS, merges adjacent ranges of the same owner and trims
// overlaps (the earlier extent wins), so sweep_blocks' precondition holds.
void normalize_extents(std::vector<Extent> &extents);

}  // namespace hexz::fs
