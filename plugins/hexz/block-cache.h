// A cache of decompressed blocks, sized in bytes.
//
// It is split into shards (by a hash of the block key), each with its own
// mutex, map and LRU list, so that parallel requests for different blocks do
// not serialize on one lock.  Loading is single-flight: while one request
// decodes a block, others that want the same block wait for it instead of
// decoding it again.
//
// Block buffers are carved from large pre-faulted chunks and recycled on
// eviction, never freed one by one: a miss costs no malloc, no page faults
// and no cross-thread free once the cache is full.
//
// Keys are opaque 64-bit numbers chosen by the caller (the reader encodes
// stream and block number in them).  The cache never decodes anything
// itself: it asks its BlockSource.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace hexz_plugin {

// Where blocks come from on a miss.  load() fills exactly LEN bytes of BUF
// with block KEY or throws (hexz::Error); it must be thread-safe.
class BlockSource {
 public:
  virtual ~BlockSource() = default;
  virtual void load(uint64_t key, unsigned char *buf, uint32_t len) const = 0;
};

class BlockCache {
 public:
  // CAPACITY is the byte budget for block data and bookkeeping; BLOCK_SIZE
  // the largest block (every buffer has this size).  A shard holds at least
  // one block, and exceeds its share only while all its buffers are being
  // loaded into (by at most one block per request in flight).
  BlockCache(const BlockSource &src, uint64_t capacity, uint32_t block_size);
  ~BlockCache();
  BlockCache(const BlockCache &) = delete;
  BlockCache &operator=(const BlockCache &) = delete;

  // Copies N bytes at OFF of block KEY (LEN bytes long) to OUT, loading the
  // block into the cache on a miss.
  void read(uint64_t key, uint32_t len, uint32_t off, uint32_t n, void *out);

  // Reads the whole block KEY into OUT.  On a miss the block is decoded
  // straight into OUT and not kept (large sequential reads would otherwise
  // push the random-access working set out of the cache), unless another
  // request asked for the same block meanwhile: then it is kept for them.
  void read_whole(uint64_t key, uint32_t len, void *out);

  // Loads block KEY into the cache if it is not there (for NBD_CMD_CACHE).
  void prefetch(uint64_t key, uint32_t len);

  // Whether block KEY is cached or being loaded (a hint: it may be evicted
  // right after).
  bool contains(uint64_t key);

  unsigned shards() const { return unsigned(shards_.size()); }

 private:
  struct Entry;
  struct Shard;
  enum class Mode { COPY, WHOLE, PREFETCH };
  void get(uint64_t key, uint32_t len, uint32_t off, uint32_t n, void *out, Mode mode);
  Shard &shard_for(uint64_t key);

  const BlockSource &src_;
  uint32_t block_size_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace hexz_plugin
