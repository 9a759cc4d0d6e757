#include "remote-prefetch.h"

#include <vector>

#include "remote-storage.h"

namespace hexz {

void prefetch_blocks(const Snapshot &snap, StreamId s, uint64_t first, uint64_t count,
                     const std::function<bool(uint64_t)> &wanted) {
  std::vector<uint64_t> blocks;  // of the current snapshot of the chain
  for (uint64_t i = first; i < first + count && i < snap.block_count(s); i++)
    if (wanted(i)) blocks.push_back(i);
  for (const Snapshot *cur = &snap; cur && !blocks.empty(); cur = cur->parent().get()) {
    auto *remote = dynamic_cast<RemoteStorage *>(&cur->storage());
    const uint64_t size = cur->stream_size(s);
    std::vector<RemoteStorage::Range> ranges;
    std::vector<uint64_t> down;  // PARENT blocks, for the next snapshot
    for (uint64_t i : blocks) {
      if (i >= cur->block_count(s)) continue;  // beyond a shorter parent: zero
      IndexEntry e = cur->entry(s, i);
      if (e.kind == BlockKind::DATA) {
        // As read_block reads it: RAW blocks at their logical length.
        uint32_t len = e.method == Method::RAW ? block_length(size, cur->block_size(), i) : e.stored_len;
        ranges.push_back({e.offset, len});
      } else if (e.kind == BlockKind::PARENT) {
        down.push_back(i);
      }
    }
    if (remote && ranges.size() > 1) remote->prefetch(std::move(ranges));
    // A parent with another block size maps blocks differently: stop there
    // (its blocks are then fetched one by one, still correctly).
    const Snapshot *parent = cur->parent().get();
    if (!parent || parent->block_size() != cur->block_size()) break;
    blocks = std::move(down);
  }
}

}  // namespace hexz
