// The block comparison of "hexz-diff -b": which 4 KiB blocks of MODIFIED
// differ from BASE.
//
// Both sides' block status is fetched first, so ranges that read as zero on
// both sides are never read, and a range that is zero on one side is read
// from the other side only.  The rest is read in large requests, several in
// flight on each NBD connection at once (libnbd's asynchronous API; a raw
// image read directly is read in the same large pieces), and compared word
// by word.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "image-diff-input.h"
#include "overlay-meta.h"

namespace hexz {

struct CompareResult {
  uint64_t blocks = 0;            // 4 KiB blocks compared: ceil(MODIFIED size / 4096)
  std::vector<uint64_t> changed;  // indices of the blocks that differ, ascending
  uint64_t zeroed = 0;            // of those, how many read as zero in MODIFIED
  uint64_t bytes_read = 0;        // from both sides together
  uint64_t bytes_skipped = 0;     // of the 2 x disk bytes, known zero and never read
};

struct CompareOptions {
  // (bytes done, bytes total) of the disk now and then.
  std::function<void(uint64_t, uint64_t)> progress;
  // FN(first, count, data): a run of COUNT consecutive changed blocks, all
  // of them non-zero in MODIFIED, with MODIFIED's bytes (COUNT x 4096, zero
  // beyond the end of the disk).  Called in ascending order.
  std::function<void(uint64_t, uint64_t, const unsigned char *)> changed_data;
  // [first, end) ranges of 4 KiB blocks already known to be equal on both
  // sides (from the snapshots' indexes, index-diff.h), ascending: never read.
  std::vector<std::pair<uint64_t, uint64_t>> known_equal;
};

// BASE may be shorter than MODIFIED (its missing bytes compare as zeroes);
// the caller decides whether that is allowed.  Throws Error on read errors.
CompareResult compare_images(ImageInput &base, ImageInput &modified, const CompareOptions &o);

}  // namespace hexz
