#include "block-locks.h"

namespace hexz_cow {

BlockLocks::Guard::Guard(BlockLocks &locks, uint64_t first, uint64_t last) : locks_(locks) {
  if (last - first + 1 >= STRIPES) {
    hi1_ = STRIPES;  // every stripe
  } else {
    unsigned a = unsigned(first % STRIPES), b = unsigned(last % STRIPES);
    if (a <= b) {
      lo1_ = a;
      hi1_ = b + 1;
    } else {  // the range wraps: [0, b] then [a, STRIPES)
      hi1_ = b + 1;
      lo2_ = a;
      hi2_ = STRIPES;
    }
  }
  for (unsigned i = lo1_; i < hi1_; i++) locks_.stripes_[i].lock();
  for (unsigned i = lo2_; i < hi2_; i++) locks_.stripes_[i].lock();
}

BlockLocks::Guard::~Guard() {
  for (unsigned i = lo2_; i < hi2_; i++) locks_.stripes_[i].unlock();
  for (unsigned i = lo1_; i < hi1_; i++) locks_.stripes_[i].unlock();
}

}  // namespace hexz_cow
