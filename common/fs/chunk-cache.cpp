#include "chunk-cache.h"

#include <algorithm>
#include <cstring>

namespace hexz::fs {

// ---- ChunkCache --------------------------------------------------------------

unsigned char *ChunkCache::insert(uint64_t index) {
  std::unique_ptr<unsigned char[]> buf;
  if (map_.size() >= max_) {
    auto victim = map_.find(lru_.back());
    buf = std::move(victim->second.data);
    map_.erase(victim);
    lru_.pop_back();
  } else {
    buf.reset(new unsigned char[CHUNK]);
  }
  lru_.push_front(index);
  auto &e = map_[index];
  e.data = std::move(buf);
  e.pos = lru_.begin();
  return e.data.get();
}

void ChunkCache::drop(uint64_t index) {
  auto it = map_.find(index);
  if (it == map_.end()) return;
  lru_.erase(it->second.pos);
  map_.erase(it);
}

void ChunkCache::plan(std::vector<std::pair<uint64_t, uint64_t>> ranges) {
  std::lock_guard<std::mutex> g(lock_);
  plan_.clear();
  for (auto &[off, len] : ranges)
    for (uint64_t c = off / CHUNK; len && c <= (off + len - 1) / CHUNK; c++) plan_.push_back(c);
  std::sort(plan_.begin(), plan_.end());
  plan_.erase(std::unique(plan_.begin(), plan_.end()), plan_.end());
}

const unsigned char *ChunkCache::chunk(uint64_t index, uint64_t want_last) {
  auto it = map_.find(index);
  if (it != map_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.pos);
    return it->second.data.get();
  }
  // A planned chunk is read together with the planned chunks right after it
  // (up to MAX_RUN) in one request.
  constexpr uint64_t MAX_RUN = 32;
  uint64_t last = index;
  auto p = std::lower_bound(plan_.begin(), plan_.end(), index);
  if (p != plan_.end() && *p == index)
    for (auto q = p + 1; q != plan_.end() && *q == last + 1 && *q - index < MAX_RUN && !map_.count(*q); ++q) last = *q;
  // The rest of the caller's own request, too.
  while (last < want_last && last + 1 - index < MAX_RUN && !map_.count(last + 1)) last++;
  uint64_t off = index * CHUNK, n = last - index + 1;
  uint64_t end = std::min(off + n * CHUNK, disk_.size());
  std::vector<unsigned char *> bufs;
  for (uint64_t c = index; c <= last; c++) bufs.push_back(insert(c));
  // Read straight into the cache buffers when it is one chunk, else via a
  // bounce buffer.  A failed read must not leave its chunks cached: a later
  // read would be served whatever the buffers held before.
  try {
    if (n == 1) {
      if (end > off) disk_.pread(bufs[0], size_t(end - off), off);
      if (end < off + CHUNK) memset(bufs[0] + (end > off ? end - off : 0), 0, size_t(off + CHUNK - std::max(end, off)));
    } else {
      std::vector<unsigned char> all(size_t(n * CHUNK), 0);
      if (end > off) disk_.pread(all.data(), size_t(end - off), off);
      for (uint64_t c = 0; c < n; c++) memcpy(bufs[c], all.data() + c * CHUNK, CHUNK);
    }
  } catch (...) {
    for (uint64_t c = index; c <= last; c++) drop(c);
    throw;
  }
  return bufs[0];
}

void ChunkCache::pread(void *buf, size_t len, uint64_t off) {
  std::lock_guard<std::mutex> g(lock_);
  auto *out = static_cast<unsigned char *>(buf);
  // Large reads (inode table runs) bypass the cache.
  if (len >= 4 * CHUNK && !cache_large_) {
    uint64_t end = std::min<uint64_t>(off + len, disk_.size());
    size_t n = end > off ? size_t(end - off) : 0;
    if (n) disk_.pread(out, n, off);
    memset(out + n, 0, len - n);
    return;
  }
  while (len > 0) {
    uint64_t idx = off / CHUNK, in = off % CHUNK;
    size_t n = size_t(std::min<uint64_t>(len, CHUNK - in));
    memcpy(out, chunk(idx, (off + len - 1) / CHUNK) + in, n);
    out += n;
    off += n;
    len -= n;
  }
}

}  // namespace hexz::fs
