// Serving byte ranges of a snapshot stream: splits a request into blocks,
// answers ZERO blocks without decoding, decodes whole blocks straight into
// the caller's buffer and goes through the block cache (when there is one)
// for partial blocks.  Decoding itself, checksums and PARENT blocks are the
// core library's (hexz::Snapshot::read_block).
#pragma once
#include <cstdint>
#include <memory>

#include "block-cache.h"
#include "snapshot.h"

namespace hexz_plugin {

class Reader : private BlockSource {
 public:
  // CACHE_SIZE 0 disables the cache.
  Reader(std::shared_ptr<const hexz::Snapshot> snap, uint64_t cache_size);

  const hexz::Snapshot &snapshot() const { return *snap_; }
  const BlockCache *cache() const { return cache_.get(); }

  // Reads [OFFSET, OFFSET + COUNT) of stream S (within the stream) into BUF.
  // Throws hexz::Error naming the file, stream and block on damage.
  void pread(hexz::StreamId s, void *buf, uint32_t count, uint64_t offset);

  // Loads the blocks of [OFFSET, OFFSET + COUNT) into the cache.
  void prefetch(hexz::StreamId s, uint32_t count, uint64_t offset);

 private:
  void load(uint64_t key, unsigned char *buf, uint32_t len) const override;
  void prefetch_remote(hexz::StreamId s, uint64_t offset, uint32_t count);

  std::shared_ptr<const hexz::Snapshot> snap_;
  std::unique_ptr<BlockCache> cache_;
  bool remote_ = false;  // some snapshot of the chain is behind a URL
};

}  // namespace hexz_plugin
