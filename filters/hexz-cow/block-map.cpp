#include "block-map.h"

#include <bit>

namespace hexz_cow {

void BlockMap::reset(uint64_t nblocks) {
  nblocks_ = nblocks;
  uint64_t nwords = (nblocks + 63) / 64;
  words_ = std::make_unique<std::atomic<uint64_t>[]>(nwords);
  for (uint64_t i = 0; i < nwords; i++) words_[i].store(0, std::memory_order_relaxed);
}

void BlockMap::load(const std::vector<uint64_t> &blocks) {
  for (uint64_t b : blocks) words_[b >> 6].fetch_or(uint64_t(1) << (b & 63), std::memory_order_relaxed);
}

uint64_t BlockMap::run_end(uint64_t b, uint64_t limit, bool modified) const {
  if (b >= limit) return limit;
  // Scan whole words: flip the word when looking for the end of a run of
  // modified blocks, so that in both cases we look for the first set bit.
  const uint64_t flip = modified ? ~uint64_t(0) : 0;
  uint64_t i = b >> 6;
  uint64_t w = (words_[i].load(std::memory_order_acquire) ^ flip) & (~uint64_t(0) << (b & 63));
  for (;;) {
    if (w != 0) {
      uint64_t r = (i << 6) + uint64_t(std::countr_zero(w));
      return r < limit ? r : limit;
    }
    i++;
    if ((i << 6) >= limit) return limit;
    w = words_[i].load(std::memory_order_acquire) ^ flip;
  }
}

void BlockMap::set_range(uint64_t first, uint64_t last) {
  bool changed = false;
  for (uint64_t b = first; b <= last;) {
    uint64_t i = b >> 6;
    unsigned lo = unsigned(b & 63);
    unsigned hi = (last >> 6) == i ? unsigned(last & 63) : 63;
    uint64_t mask = (~uint64_t(0) << lo) & (~uint64_t(0) >> (63 - hi));
    uint64_t old = words_[i].fetch_or(mask, std::memory_order_acq_rel);
    if ((old & mask) != mask) changed = true;
    b = (i + 1) << 6;
  }
  if (changed) gen_.fetch_add(1, std::memory_order_acq_rel);
}

std::vector<uint64_t> BlockMap::to_vector() const {
  std::vector<uint64_t> v;
  uint64_t nwords = (nblocks_ + 63) / 64;
  for (uint64_t i = 0; i < nwords; i++) {
    uint64_t w = words_[i].load(std::memory_order_acquire);
    while (w != 0) {
      v.push_back((i << 6) + uint64_t(std::countr_zero(w)));
      w &= w - 1;
    }
  }
  return v;
}

}  // namespace hexz_cow
