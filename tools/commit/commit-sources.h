// The two Sources hexz-commit needs besides the served merged view: a stream
// of an opened snapshot (to carry BASE's memory stream over), and a view of
// another Source that only asks it about the blocks a thin commit stores.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "snapshot.h"
#include "source.h"

namespace hexz {

// Stream ID of snapshot S (following its chain) as a Source; zero runs come
// from the snapshot's index, so they are never decoded.
std::unique_ptr<Source> snapshot_stream_source(std::shared_ptr<const Snapshot> s, StreamId id);

// INNER restricted to the blocks of BLOCK_SIZE listed in TOUCHED (sorted,
// unique): extents() asks INNER only about those blocks and reports every
// other range as data, which pack_stream never reads because PackOptions::take
// turns it into parent references.  That keeps a thin commit's cost
// proportional to the overlay rather than to the disk.  TOUCHED must outlive
// the result.
std::unique_ptr<Source> touched_blocks_source(Source &inner, const std::vector<uint64_t> &touched,
                                              uint32_t block_size);

}  // namespace hexz
