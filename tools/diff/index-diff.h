// The index path of "hexz-diff -b A.st B.st": which blocks of two snapshots
// are known to hold the same bytes from their indexes alone, so that the
// block comparison never reads them.
//
// A block of B is known equal to the same block of A when
//   - both resolve (through PARENT entries, parent by parent) to the same
//     stored block of the same snapshot file (same lineage: a thin child and
//     its base, or two children of one base), or
//   - both resolve to ZERO, or
//   - TRUST_CHECKSUMS is set and both resolve to DATA blocks with equal
//     XXH3-64 checksums of their plaintext.
// Everything else (different checksums, DATA against ZERO, equal checksums
// in unrelated files without TRUST_CHECKSUMS, block sizes that differ along
// a chain, an index page that cannot be read) is left to the reading path,
// which compares the bytes.  So the result of the diff never depends on the
// index path except through TRUST_CHECKSUMS: XXH3-64 is not
// collision-resistant, and a hostile image can be crafted whose block has
// the checksum of another block with different bytes.  Equal stored blocks
// of the same file are safe without that trust, because a snapshot file is
// immutable and both sides then read the very same bytes.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "snapshot.h"

namespace hexz {

struct IndexDiff {
  // [first, end) ranges of 4 KiB blocks known to be equal, ascending, merged.
  std::vector<std::pair<uint64_t, uint64_t>> equal;
  uint64_t same_stored = 0;  // snapshot blocks equal by lineage (same stored block)
  uint64_t both_zero = 0;    // snapshot blocks ZERO on both sides
  uint64_t same_checksum = 0;  // equal by checksum (only with trust_checksums)
  uint64_t undecided = 0;    // left to the reading path
};

// A and B must have the same block size (else every block is undecided).
// BLOCK is the granularity of the result (4 KiB, the overlay's block size).
IndexDiff index_diff(const Snapshot &a, const Snapshot &b, bool trust_checksums, uint64_t block);

}  // namespace hexz
