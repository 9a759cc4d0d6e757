// Internals of the filesystem layer: the per-filesystem mappers.  Not for
// use outside common/fs.
#pragma once
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "chunk-cache.h"
#include "fsmap.h"

namespace hexz::fs {

// Fill FS (whose part/type are set) from the filesystem's own structures.
// They set status OK on success, or DAMAGED with a message.
void map_ext(Source &disk, FsMap &fs);
void map_tsk(Source &disk, FsMap &fs);

// Adds a node-owned or area-owned byte range, merging with the previous
// extent when contiguous and of the same owner.
inline void add_extent(std::vector<Extent> &v, uint64_t start, uint64_t length, uint32_t owner) {
  if (!length) return;
  if (!v.empty() && v.back().owner == owner && v.back().start + v.back().length == start)
    v.back().length += length;
  else
    v.push_back({start, length, owner});
}

}  // namespace hexz::fs
