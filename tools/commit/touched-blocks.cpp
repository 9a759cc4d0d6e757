#include "touched-blocks.h"

#include <algorithm>

namespace hexz {

namespace {

class TouchedBlocksSource : public Source {
 public:
  TouchedBlocksSource(Source &inner, const std::vector<uint64_t> &touched, uint32_t bs)
      : inner_(inner), touched_(touched), bs_(bs) {}
  const std::string &name() const override { return inner_.name(); }
  uint64_t size() const override { return inner_.size(); }
  void pread(void *buf, size_t len, uint64_t off) override { inner_.pread(buf, len, off); }
  void extents(uint64_t off, uint64_t len, const std::function<void(uint64_t, uint64_t, bool)> &fn) override {
    const uint64_t end = std::min(off + len, size());
    uint64_t pos = off;
    // Runs of consecutive touched blocks, from the block holding OFF on.
    auto it = std::lower_bound(touched_.begin(), touched_.end(), off / bs_);
    while (it != touched_.end() && pos < end) {
      uint64_t first = *it, last = *it;
      while (++it != touched_.end() && *it == last + 1) last = *it;
      uint64_t rs = std::max(first * bs_, pos), re = std::min((last + 1) * bs_, end);
      if (rs >= end) break;
      if (rs > pos) fn(pos, rs - pos, false);  // not asked: never read
      if (re > rs) inner_.extents(rs, re - rs, fn);
      pos = std::max(pos, re);
    }
    if (pos < end) fn(pos, end - pos, false);
  }

 private:
  Source &inner_;
  const std::vector<uint64_t> &touched_;
  uint32_t bs_;
};

}  // namespace

std::unique_ptr<Source> touched_blocks_source(Source &inner, const std::vector<uint64_t> &touched,
                                              uint32_t block_size) {
  return std::make_unique<TouchedBlocksSource>(inner, touched, block_size);
}

}  // namespace hexz
