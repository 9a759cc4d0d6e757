#include "block-cache.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>
#include <sys/mman.h>

namespace hexz_plugin {

// A cache slot.  While a request loads it, it sits in its shard's map with
// ready == false (so other requests wait for it) and is not on the LRU list,
// so it cannot be evicted under the loader's feet.  Slots and their buffers
// are recycled, never freed before the cache.
struct BlockCache::Entry {
  uint64_t key = 0;
  uint32_t len = 0;
  bool ready = false;
  unsigned waiters = 0;           // requests that waited while it loaded
  unsigned char *data = nullptr;  // block_size bytes, or none yet
  Entry *prev = nullptr, *next = nullptr;  // LRU links, only when ready
};

// Rough per-block bookkeeping (map node, entry) counted against the budget.
constexpr uint64_t ENTRY_OVERHEAD = 128;
// Buffers are carved from chunks of about this size.
constexpr uint64_t CHUNK_BYTES = 1 << 20;

struct BlockCache::Shard {
  std::mutex lock;
  std::condition_variable loaded;
  std::unordered_map<uint64_t, Entry *> map;
  Entry lru;  // sentinel: lru.next is the most recently used entry
  std::vector<std::unique_ptr<Entry>> entries;  // owns every slot
  std::vector<Entry *> spare;                   // slots not in the map
  std::vector<std::pair<void *, size_t>> chunks;
  unsigned char *chunk_next = nullptr;
  size_t chunk_left = 0;
  uint64_t buffers = 0, max_buffers;
  const uint32_t block_size;

  Shard(uint64_t max_bufs, uint32_t bs) : max_buffers(max_bufs), block_size(bs) {
    lru.prev = lru.next = &lru;
    map.reserve(max_bufs + 16);
  }
  ~Shard() {
    for (auto &c : chunks) munmap(c.first, c.second);
  }

  void unlink(Entry *e) {
    e->prev->next = e->next;
    e->next->prev = e->prev;
  }
  void push_front(Entry *e) {
    e->next = lru.next;
    e->prev = &lru;
    lru.next->prev = e;
    lru.next = e;
  }
  void touch(Entry *e) {
    if (lru.next != e) {
      unlink(e);
      push_front(e);
    }
  }

  // A free slot, with or without a buffer.
  Entry *take_entry() {
    if (!spare.empty()) {
      Entry *e = spare.back();
      spare.pop_back();
      return e;
    }
    entries.push_back(std::make_unique<Entry>());
    return entries.back().get();
  }

  // A new buffer from the current chunk.  Chunks are pre-faulted
  // (MAP_POPULATE): faulting pages in one by one under parallel load costs
  // more than the decompression.
  unsigned char *carve() {
    if (chunk_left < block_size) {
      uint64_t n = std::clamp<uint64_t>(CHUNK_BYTES / block_size, 1, max_buffers > buffers ? max_buffers - buffers : 1);
      size_t bytes = size_t(n * block_size);
      void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      chunks.emplace_back(p, bytes);
      chunk_next = static_cast<unsigned char *>(p);
      chunk_left = bytes;
    }
    unsigned char *b = chunk_next;
    chunk_next += block_size;
    chunk_left -= block_size;
    buffers++;
    return b;
  }

  // Gives E a buffer: a new one while under budget, else the least recently
  // used block's.  Only if every buffer of the shard is being loaded into
  // does the shard grow past its budget.
  void ensure_buffer(Entry *e) {
    if (e->data) return;
    if (buffers < max_buffers || lru.prev == &lru) {
      e->data = carve();
      return;
    }
    Entry *victim = lru.prev;
    unlink(victim);
    map.erase(victim->key);
    e->data = victim->data;
    victim->data = nullptr;
    spare.push_back(victim);
  }

  void release(Entry *e) {
    map.erase(e->key);
    spare.push_back(e);
  }
};

BlockCache::BlockCache(const BlockSource &src, uint64_t capacity, uint32_t block_size)
    : src_(src), block_size_(block_size) {
  // Enough shards that parallel readers rarely meet on one lock, few enough
  // that each shard still holds several blocks (the budget is split evenly).
  uint64_t n = capacity / (uint64_t(block_size) * 4);
  n = n < 1 ? 1 : n > 64 ? 64 : std::bit_floor(n);
  uint64_t per_shard = std::max<uint64_t>(1, capacity / n / (block_size + ENTRY_OVERHEAD));
  shards_.reserve(n);
  for (uint64_t i = 0; i < n; i++) shards_.push_back(std::make_unique<Shard>(per_shard, block_size));
}

BlockCache::~BlockCache() = default;

BlockCache::Shard &BlockCache::shard_for(uint64_t key) {
  // Fibonacci hashing spreads consecutive block numbers over all shards.
  uint64_t h = key * 0x9E3779B97F4A7C15ull;
  return *shards_[(h >> 40) & (shards_.size() - 1)];
}

void BlockCache::read(uint64_t key, uint32_t len, uint32_t off, uint32_t n, void *out) {
  get(key, len, off, n, out, Mode::COPY);
}

void BlockCache::read_whole(uint64_t key, uint32_t len, void *out) { get(key, len, 0, len, out, Mode::WHOLE); }

void BlockCache::prefetch(uint64_t key, uint32_t len) { get(key, len, 0, 0, nullptr, Mode::PREFETCH); }

bool BlockCache::contains(uint64_t key) {
  Shard &sh = shard_for(key);
  std::lock_guard<std::mutex> g(sh.lock);
  return sh.map.count(key) != 0;
}

void BlockCache::get(uint64_t key, uint32_t len, uint32_t off, uint32_t n, void *out, Mode mode) {
  Shard &sh = shard_for(key);
  std::unique_lock<std::mutex> lk(sh.lock);
  for (;;) {
    auto it = sh.map.find(key);
    if (it == sh.map.end()) break;
    Entry *e = it->second;
    if (e->ready) {
      // A hit: copying under the shard lock is cheaper than pinning the
      // entry, and the shard is held only for the memcpy.
      sh.touch(e);
      if (n) std::memcpy(out, e->data + off, n);
      return;
    }
    if (mode == Mode::PREFETCH) return;  // someone is loading it already
    // Someone else is decoding this block: wait for them, then look again
    // (if they failed the entry is gone and we decode it ourselves, so that
    // this request reports its own error).
    // Counted on this entry, and counted again on whatever entry holds the
    // key after the wake-up: the loader notifies only if its own entry has
    // waiters, and a third thread may have started loading the key anew
    // before this one runs again (waiting on the old count hung forever).
    e->waiters++;
    sh.loaded.wait(lk);
  }

  // A miss: register the block as loading, decode it without the lock.  A
  // whole-block read decodes straight into the caller's buffer and needs a
  // cache buffer only if someone waited for it.
  Entry *e = sh.take_entry();
  e->key = key;
  e->len = len;
  e->ready = false;
  e->waiters = 0;
  try {
    if (mode != Mode::WHOLE) sh.ensure_buffer(e);
  } catch (...) {
    sh.spare.push_back(e);
    throw;
  }
  sh.map.emplace(key, e);
  lk.unlock();

  bool keep = mode != Mode::WHOLE;
  try {
    unsigned char *dst = mode == Mode::WHOLE ? static_cast<unsigned char *>(out) : e->data;
    src_.load(key, dst, len);
    if (mode == Mode::WHOLE) {
      lk.lock();
      keep = e->waiters > 0;
      if (keep) sh.ensure_buffer(e);
      lk.unlock();
      if (keep) std::memcpy(e->data, dst, len);
    } else if (n) {
      std::memcpy(out, dst + off, n);
    }
  } catch (...) {
    lk.lock();
    bool wake = e->waiters > 0;
    sh.release(e);
    lk.unlock();
    if (wake) sh.loaded.notify_all();
    throw;
  }

  lk.lock();
  bool wake = e->waiters > 0;
  if (keep) {
    e->ready = true;
    sh.push_front(e);
  } else {
    sh.release(e);
  }
  lk.unlock();
  if (wake) sh.loaded.notify_all();
}

}  // namespace hexz_plugin
