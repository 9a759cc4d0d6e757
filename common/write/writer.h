// Writing .st snapshots (docs/format.md 1.4, 1.7).  Data is appended in
// block order, each index page right after the last block it describes, then
// the sections (page tables, parent, metadata) and finally the header; the
// file lives under a temporary name until commit() has fsynced and renamed
// it.  Only one index page is held in memory at a time, plus the page table:
// the writer's memory follows the data and the page count, not the blocks.  Compression is
// separate from writing (encode_block) so callers can compress in parallel
// and hand blocks to the single writer in order.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "format.h"
#include "util.h"

namespace hexz {

struct WriterOptions {
  uint32_t block_size = DEFAULT_BLOCK_SIZE;
  Method method = Method::ZSTD;
  int level = 3;
  Metadata metadata;
  // log2 of the entries per index page, and how pages are compressed (ZSTD;
  // RAW lets tests damage entries in place).
  unsigned page_shift = DEFAULT_PAGE_SHIFT;
  Method page_method = Method::ZSTD;
  // For a thin snapshot: the parent's path and UUID.  The writer stores the
  // path relative to the output's directory.
  std::optional<std::pair<std::string, Uuid>> parent;
};

// A block after zero detection, hashing and compression.
struct EncodedBlock {
  BlockKind kind = BlockKind::ZERO;
  Method method = Method::RAW;
  uint64_t checksum = 0;
  std::vector<unsigned char> stored;
};

// Zero detection, checksum, compression, raw fallback.  Thread-safe.
void encode_block(const void *data, size_t len, Method method, int level, EncodedBlock &out);

class SnapshotWriter {
 public:
  SnapshotWriter(const std::string &path, const WriterOptions &opts);
  ~SnapshotWriter();
  SnapshotWriter(const SnapshotWriter &) = delete;
  SnapshotWriter &operator=(const SnapshotWriter &) = delete;

  const Uuid &uuid() const { return header_.uuid; }
  const WriterOptions &options() const { return opts_; }

  // Streams are written one at a time; blocks of a stream are added in
  // increasing order; blocks never added are ZERO (and pages with no block
  // added cost nothing).
  void begin_stream(StreamId id, uint64_t logical_size);
  void put(uint64_t i, const EncodedBlock &b);
  void put_parent(uint64_t i);
  void end_stream();

  // Writes sections and header, fsyncs, renames into place.
  void commit();

  // Statistics for the caller's report: bytes of stored blocks, and of
  // stored index pages (both in the data area).
  uint64_t stored_bytes() const { return data_end_ - DATA_START - page_bytes_; }
  uint64_t index_bytes() const { return page_bytes_; }
  uint64_t dedup_blocks() const { return dedup_blocks_; }

 private:
  void append(const void *data, size_t len);
  void flush_buffer();
  void write_section(SectionType type, uint32_t flags, const std::string &bytes);
  void set_entry(uint64_t i, const IndexEntry &e);
  void flush_page();

  WriterOptions opts_;
  AtomicFile file_;
  Header header_;
  uint64_t data_end_ = DATA_START;  // logical end including the buffer
  std::vector<unsigned char> buf_;
  uint64_t buf_start_ = DATA_START;

  bool in_stream_ = false;
  StreamHeader cur_;
  std::vector<PageRef> cur_table_;
  // The page being filled: its number, encoded entries, and how many of
  // them are DATA and PARENT (a page with only PARENT entries is a PARENT
  // page, one with neither a ZERO page).
  uint64_t page_ = UINT64_MAX;
  std::vector<unsigned char> page_buf_;
  uint64_t page_data_ = 0, page_parent_ = 0;
  uint64_t page_bytes_ = 0;
  uint64_t next_block_ = 0;
  bool streams_done_[NUM_STREAMS] = {false, false};
  std::vector<std::pair<StreamHeader, std::vector<PageRef>>> finished_;

  struct Stored {
    uint64_t offset;
    uint32_t len;
    Method method;
  };
  std::unordered_multimap<uint64_t, Stored> dedup_;
  uint64_t dedup_blocks_ = 0;
  uint64_t section_end_ = 0;
};

}  // namespace hexz
