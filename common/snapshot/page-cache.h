// The decoded index pages of one snapshot file, shared by every thread that
// reads it, bounded in bytes.  Split into shards (by page key), each with its
// own mutex and LRU list, so that parallel requests do not serialize on one
// lock.  A lookup copies the one entry it needs under the shard's lock, so
// the hot path takes no reference count.
//
// Pages are loaded by the caller (Snapshot::load_page), which validates them
// first: only whole, checked pages are ever inserted, so a damaged page is
// never cached and fails every request that needs it.
#pragma once
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "format.h"

namespace hexz {

using Page = std::vector<IndexEntry>;

class PageCache {
 public:
  explicit PageCache(uint64_t capacity);
  PageCache(const PageCache &) = delete;
  PageCache &operator=(const PageCache &) = delete;

  // Copies entry K of page KEY into OUT and returns true if the page is
  // cached (and marks it recently used).
  bool lookup(uint64_t key, uint32_t k, IndexEntry &out);
  // The page KEY if cached (marked recently used), else null.
  std::shared_ptr<const Page> find(uint64_t key);
  // Whether pages of these KEYS, of ENTRIES entries each, would all be kept
  // if inserted into an empty cache (no shard over its share).
  bool would_keep(const std::vector<std::pair<uint64_t, uint32_t>> &keys_entries);
  // Inserts PAGE under KEY (unless already there), evicting the least
  // recently used pages of its shard beyond the shard's share of the
  // capacity (a shard always keeps the newest page).
  void insert(uint64_t key, std::shared_ptr<const Page> page);

 private:
  struct Shard {
    std::mutex m;
    std::list<std::pair<uint64_t, std::shared_ptr<const Page>>> lru;  // most recent first
    std::unordered_map<uint64_t, decltype(lru)::iterator> map;
    uint64_t bytes = 0;
  };
  static constexpr unsigned SHARDS = 16;
  Shard &shard_for(uint64_t key) { return shards_[(key * 0x9E3779B97F4A7C15ull) >> 60]; }

  uint64_t shard_capacity_;
  Shard shards_[SHARDS];
};

}  // namespace hexz
