// A thin commit's view of the merged disk: a Source that asks the served
// view only about the blocks the overlay touched.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "source.h"

namespace hexz {

// INNER restricted to the blocks of BLOCK_SIZE listed in TOUCHED (sorted,
// unique): extents() asks INNER only about those blocks and reports every
// other range as data, which pack_stream never reads because PackOptions::take
// turns it into parent references.  That keeps a thin commit's cost
// proportional to the overlay rather than to the disk.  TOUCHED must outlive
// the result.
std::unique_ptr<Source> touched_blocks_source(Source &inner, const std::vector<uint64_t> &touched,
                                              uint32_t block_size);

}  // namespace hexz
