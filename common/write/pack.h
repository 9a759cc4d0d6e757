// Packing a stream from a Source into a SnapshotWriter: holes are skipped
// without reading, blocks are compressed on THREADS threads, and handed to
// the writer in order.  Used by hexz-pack and hexz-commit.
#pragma once
#include <cstdint>
#include <functional>

#include "source.h"
#include "writer.h"

namespace hexz {

struct PackOptions {
  unsigned threads = 0;  // 0: all cores
  // Called now and then with (bytes done, bytes total) of this stream.
  std::function<void(uint64_t, uint64_t)> progress;
  // For thin snapshots: blocks for which TAKE(i) is false become PARENT
  // references without being read.  Null: every block is taken.
  std::function<bool(uint64_t)> take;
};

struct PackStats {
  uint64_t blocks = 0, zero_blocks = 0, data_blocks = 0, parent_blocks = 0, bytes_read = 0;
};

PackStats pack_stream(SnapshotWriter &w, StreamId id, Source &src, const PackOptions &o);

}  // namespace hexz
