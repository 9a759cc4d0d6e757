// Fetching the stored bytes of a run of blocks ahead of decoding them, so
// that a client request over many blocks of a remote snapshot costs one range
// request per run of adjacent stored blocks instead of one per block.
#pragma once
#include <cstdint>
#include <functional>

#include "snapshot.h"

namespace hexz {

// For the blocks [FIRST, FIRST + COUNT) of stream S that WANTED accepts
// (the plugin leaves out those its block cache holds): collects the stored range of
// every DATA block, following PARENT blocks down the chain, and hands each
// remote snapshot's ranges to its RemoteStorage::prefetch.  Local snapshots,
// and a single range (which the read itself fetches as cheaply), are left
// alone.  Throws what the fetches throw.
void prefetch_blocks(const Snapshot &snap, StreamId s, uint64_t first, uint64_t count,
                     const std::function<bool(uint64_t)> &wanted);

}  // namespace hexz
