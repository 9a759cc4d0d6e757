#include "page-cache.h"

namespace hexz {

static uint64_t page_bytes(size_t entries) { return entries * sizeof(IndexEntry) + 64; }
static uint64_t page_bytes(const Page &p) { return page_bytes(p.size()); }

PageCache::PageCache(uint64_t capacity) : shard_capacity_(capacity / SHARDS) {}

bool PageCache::lookup(uint64_t key, uint32_t k, IndexEntry &out) {
  Shard &sh = shard_for(key);
  std::lock_guard<std::mutex> g(sh.m);
  auto it = sh.map.find(key);
  if (it == sh.map.end()) return false;
  if (it->second != sh.lru.begin()) sh.lru.splice(sh.lru.begin(), sh.lru, it->second);
  out = (*it->second->second)[k];
  return true;
}

std::shared_ptr<const Page> PageCache::find(uint64_t key) {
  Shard &sh = shard_for(key);
  std::lock_guard<std::mutex> g(sh.m);
  auto it = sh.map.find(key);
  if (it == sh.map.end()) return nullptr;
  if (it->second != sh.lru.begin()) sh.lru.splice(sh.lru.begin(), sh.lru, it->second);
  return it->second->second;
}

bool PageCache::would_keep(const std::vector<std::pair<uint64_t, uint32_t>> &keys_entries) {
  uint64_t bytes[SHARDS] = {0};
  for (auto &[key, n] : keys_entries) {
    uint64_t &b = bytes[&shard_for(key) - shards_];
    b += page_bytes(n);
    if (b > shard_capacity_) return false;
  }
  return true;
}

void PageCache::insert(uint64_t key, std::shared_ptr<const Page> page) {
  Shard &sh = shard_for(key);
  std::vector<std::shared_ptr<const Page>> evicted;
  std::lock_guard<std::mutex> g(sh.m);
  if (sh.map.count(key)) return;  // another thread loaded it meanwhile
  sh.bytes += page_bytes(*page);
  sh.lru.emplace_front(key, std::move(page));
  sh.map.emplace(key, sh.lru.begin());
  while (sh.bytes > shard_capacity_ && sh.lru.size() > 1) {
    auto &victim = sh.lru.back();
    sh.bytes -= page_bytes(*victim.second);
    sh.map.erase(victim.first);
    evicted.push_back(std::move(victim.second));
    sh.lru.pop_back();
  }
}

}  // namespace hexz
