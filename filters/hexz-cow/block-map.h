// The set of modified overlay blocks, kept in memory between flushes as a
// bitmap of atomic words: readers test bits without locks, writers set them
// after the block's data is in the overlay file, so a reader that sees a bit
// set always finds the data it stands for.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace hexz_cow {

class BlockMap {
 public:
  // Sizes the map for NBLOCKS blocks, all unmodified.  Not thread-safe.
  void reset(uint64_t nblocks);
  // Marks BLOCKS (sorted, each < size()) modified.  Not thread-safe.
  void load(const std::vector<uint64_t> &blocks);

  uint64_t size() const { return nblocks_; }
  bool test(uint64_t b) const {
    return (words_[b >> 6].load(std::memory_order_acquire) >> (b & 63)) & 1;
  }
  // The first block in [B, LIMIT) whose state is not MODIFIED, or LIMIT:
  // the end of the run of blocks in that state starting at B.  (B itself
  // when it changed state since the caller tested it.)
  uint64_t run_end(uint64_t b, uint64_t limit, bool modified) const;
  // Marks blocks [FIRST, LAST] modified.
  void set_range(uint64_t first, uint64_t last);

  // The modified blocks, ascending (the .meta contents).
  std::vector<uint64_t> to_vector() const;
  // Bumped every time a block becomes modified, so a flush knows whether the
  // set changed since .meta was last written.
  uint64_t generation() const { return gen_.load(std::memory_order_acquire); }

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> words_;
  uint64_t nblocks_ = 0;
  std::atomic<uint64_t> gen_{0};
};

}  // namespace hexz_cow
