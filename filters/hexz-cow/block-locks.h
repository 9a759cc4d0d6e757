// Lock striping over overlay blocks: a write, zero or trim locks the stripes
// of every block it touches, so two requests on the same block (say two
// partial writes doing read-modify-write) are serialized while requests on
// unrelated blocks run in parallel.  Stripes are always taken in ascending
// order, so requests over overlapping ranges cannot deadlock.
#pragma once
#include <cstdint>
#include <mutex>

namespace hexz_cow {

class BlockLocks {
 public:
  static constexpr unsigned STRIPES = 1024;

  // Holds the stripes of blocks [first, last] until destroyed.
  class Guard {
   public:
    Guard(BlockLocks &locks, uint64_t first, uint64_t last);
    ~Guard();
    Guard(const Guard &) = delete;
    Guard &operator=(const Guard &) = delete;

   private:
    BlockLocks &locks_;
    // The stripes held, as at most two ascending ranges [lo, hi).
    unsigned lo1_ = 0, hi1_ = 0, lo2_ = 0, hi2_ = 0;
  };

 private:
  std::mutex stripes_[STRIPES];
};

}  // namespace hexz_cow
