// Overlay file resolution for hexz-diff: which files, metadata areas and
// other disk regions the modified 4 KiB blocks of an overlay belong to,
// computed from two views of the disk ("before" = the base, "after" = base +
// overlay) that were each mapped once with hexz::fs::map_disk.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fs/fsmap.h"

namespace hexz {

// One line of virt-diff style output.
struct FileChange {
  char change = '=';  // '+', '-', '=' (content), or 's' for a stat-only change (printed as a -/+ pair)
  unsigned partition = 0;
  std::string path;
  const fs::Node *before = nullptr, *after = nullptr;
  std::vector<std::string> changed;  // stat fields that differ (virt-diff names: st_mode ...)
  uint64_t blocks = 0;               // modified blocks holding any of its bytes (before or after)
};

struct AreaCount {
  std::string where;  // "partition 1 (ext4)"
  std::string area;   // "inode table of group 3", "free space", "file resolution is not supported ..."
  uint64_t blocks = 0;
};

struct Resolution {
  std::vector<FileChange> files;     // sorted by partition, then path (virt_diff_less)
  std::vector<AreaCount> metadata;   // filesystem metadata areas
  std::vector<AreaCount> free;       // free space per filesystem
  std::vector<AreaCount> unresolved; // partitions whose files cannot be resolved
  std::vector<std::string> warnings; // partition table / filesystem damage
  // Every modified block is counted in exactly one of these.
  uint64_t in_files = 0, in_metadata = 0, in_free = 0, in_unresolved = 0, in_tables = 0, outside = 0;
  // Of in_unresolved, the blocks in a partition that may hold files hexz
  // could not read (every unresolved type but swap, which holds none).
  uint64_t in_unreadable = 0;
};

// Reads overlay block B of the before and after views (OVERLAY_BLOCK bytes
// each), to tell which owner of a shared block really changed.
using BlockReader = std::function<void(uint64_t b, unsigned char *before, unsigned char *after)>;

// BLOCKS: sorted indices of modified OVERLAY_BLOCK-sized blocks.  READ may be
// empty: shared blocks then go to the owner with the largest overlap.
Resolution resolve_blocks(const fs::DiskMap &before, const fs::DiskMap &after, const std::vector<uint64_t> &blocks,
                          const BlockReader &read);

}  // namespace hexz
