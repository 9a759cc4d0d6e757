#include "block_cache.h"

#include <bit>
#include <cstring>

namespace hexz_plugin {

// A cached block.  While a request loads it, it sits in its shard's map with
// ready == false (so other requests wait for it) and is not on the LRU list,
// so it cannot be evicted under the loader's feet.
struct BlockCache::Entry {
  uint64_t key;
  uint32_t len;
  bool ready = false;
  unsigned waiters = 0;  // requests that waited while it loaded
  std::unique_ptr<unsigned char[]> data;
  Entry *prev = nullptr, *next = nullptr;  // LRU links, only when ready
  Entry(uint64_t k, uint32_t l) : key(k), len(l) {}
};

// What an entry costs against the budget: its data plus the map node, the
// entry itself and malloc's headers, roughly.
static uint64_t cost(uint32_t len) { return uint64_t(len) + 128; }

struct BlockCache::Shard {
  std::mutex lock;
  std::condition_variable loaded;
  std::unordered_map<uint64_t, std::unique_ptr<Entry>> map;
  Entry lru{0, 0};  // sentinel: lru.next is the most recently used entry
  uint64_t bytes = 0;

  Shard() { lru.prev = lru.next = &lru; }

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
  void evict_to(uint64_t capacity) {
    while (bytes > capacity && lru.prev != &lru) {
      Entry *victim = lru.prev;
      unlink(victim);
      bytes -= cost(victim->len);
      map.erase(victim->key);
    }
  }
};

BlockCache::BlockCache(const BlockSource &src, uint64_t capacity, uint32_t block_size) : src_(src) {
  // Enough shards that parallel readers rarely meet on one lock, few enough
  // that each shard still holds several blocks (the budget is split evenly).
  uint64_t n = capacity / (uint64_t(block_size) * 4);
  n = n < 1 ? 1 : n > 64 ? 64 : std::bit_floor(n);
  shards_.reserve(n);
  for (uint64_t i = 0; i < n; i++) shards_.push_back(std::make_unique<Shard>());
  shard_capacity_ = capacity / n;
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

void BlockCache::get(uint64_t key, uint32_t len, uint32_t off, uint32_t n, void *out, Mode mode) {
  Shard &sh = shard_for(key);
  std::unique_lock<std::mutex> lk(sh.lock);
  Entry *e;
  for (;;) {
    auto it = sh.map.find(key);
    if (it == sh.map.end()) break;
    e = it->second.get();
    if (e->ready) {
      // A hit: copying under the shard lock is cheaper than pinning the
      // entry, and the shard is held only for the memcpy.
      sh.touch(e);
      if (n) std::memcpy(out, e->data.get() + off, n);
      return;
    }
    if (mode == Mode::PREFETCH) return;  // someone is loading it already
    // Someone else is decoding this block: wait for them, then look again
    // (if they failed the entry is gone and we decode it ourselves, so that
    // this request reports its own error).
    e->waiters++;
    sh.loaded.wait(lk, [&] {
      auto j = sh.map.find(key);
      return j == sh.map.end() || j->second->ready;
    });
  }

  // A miss: register the block as loading, decode it without the lock.
  auto owned = std::make_unique<Entry>(key, len);
  e = owned.get();
  sh.map.emplace(key, std::move(owned));
  lk.unlock();

  unsigned char *dst;
  try {
    if (mode == Mode::WHOLE) {
      dst = static_cast<unsigned char *>(out);
    } else {
      e->data.reset(new unsigned char[len]);
      dst = e->data.get();
    }
    src_.load(key, dst, len);
    if (mode == Mode::WHOLE) {
      lk.lock();
      bool wanted = e->waiters > 0;
      lk.unlock();
      if (wanted) {
        e->data.reset(new unsigned char[len]);
        std::memcpy(e->data.get(), dst, len);
      }
    } else if (n) {
      std::memcpy(out, dst + off, n);
    }
  } catch (...) {
    lk.lock();
    bool wake = e->waiters > 0;
    sh.map.erase(key);
    lk.unlock();
    if (wake) sh.loaded.notify_all();
    throw;
  }

  lk.lock();
  bool wake = e->waiters > 0;
  if (e->data) {
    e->ready = true;
    sh.push_front(e);
    sh.bytes += cost(len);
    sh.evict_to(shard_capacity_);  // may evict E itself if the budget is tiny
  } else {
    sh.map.erase(key);
  }
  lk.unlock();
  if (wake) sh.loaded.notify_all();
}

}  // namespace hexz_plugin
