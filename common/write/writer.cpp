#include "writer.h"

#include <cstring>
#include <ctime>

#include "checksum.h"
#include "codec.h"
#include "error.h"

namespace hexz {

static constexpr size_t WRITE_BUFFER = 4 << 20;

void encode_block(const void *data, size_t len, Method method, int level, EncodedBlock &out) {
  if (is_zero(data, len)) {
    out.kind = BlockKind::ZERO;
    out.method = Method::RAW;
    out.checksum = 0;
    out.stored.clear();
    return;
  }
  out.kind = BlockKind::DATA;
  out.checksum = checksum(data, len);
  if (method != Method::RAW) {
    // Compress into this thread's scratch buffer and keep only the bytes
    // produced: resizing OUT.stored to the bound would zero-fill more than
    // a block per block (3% of a pack's CPU).
    thread_local std::vector<unsigned char> scratch;
    if (scratch.size() < compress_bound(len)) scratch.resize(compress_bound(len));
    size_t n = compress_block(method, level, data, len, scratch.data());
    if (n < len) {
      out.stored.assign(scratch.data(), scratch.data() + n);
      out.method = method;
      return;
    }
  }
  // Compression did not pay: store the bytes as they are.
  out.method = Method::RAW;
  out.stored.assign(static_cast<const unsigned char *>(data), static_cast<const unsigned char *>(data) + len);
}

SnapshotWriter::SnapshotWriter(const std::string &path, const WriterOptions &opts) : opts_(opts), file_(path) {
  if (!valid_block_size(opts.block_size))
    throw Error("block size " + std::to_string(opts.block_size) + " is not a power of two from 4K to 1M", EINVAL);
  if (opts.page_shift < MIN_PAGE_SHIFT || opts.page_shift > MAX_PAGE_SHIFT)
    throw Error("internal error: page shift " + std::to_string(opts.page_shift) + " out of range", EINVAL);
  header_.uuid = uuid_generate();
  header_.block_size = opts.block_size;
  header_.created = uint64_t(time(nullptr));
  if (opts.parent) header_.incompat_flags |= INCOMPAT_PARENT;
  buf_.reserve(WRITE_BUFFER);
}

SnapshotWriter::~SnapshotWriter() = default;

void SnapshotWriter::flush_buffer() {
  if (buf_.empty()) return;
  pwrite_full(file_.fd(), buf_.data(), buf_.size(), off_t(buf_start_), file_.temp_path());
  buf_start_ += buf_.size();
  buf_.clear();
}

void SnapshotWriter::append(const void *data, size_t len) {
  if (buf_.size() + len > WRITE_BUFFER) flush_buffer();
  auto *p = static_cast<const unsigned char *>(data);
  buf_.insert(buf_.end(), p, p + len);
  data_end_ += len;
}

void SnapshotWriter::begin_stream(StreamId id, uint64_t logical_size) {
  if (in_stream_) throw Error("internal error: begin_stream inside a stream", EINVAL);
  if (streams_done_[unsigned(id)]) throw Error(std::string("internal error: two ") + stream_name(id) + " streams", EINVAL);
  in_stream_ = true;
  cur_.id = id;
  cur_.logical_size = logical_size;
  cur_.block_count = logical_size / opts_.block_size + (logical_size % opts_.block_size ? 1 : 0);
  cur_.page_shift = opts_.page_shift;
  cur_.page_count = page_count_for(cur_.block_count, cur_.page_shift);
  cur_table_.assign(cur_.page_count, PageRef{});  // all ZERO pages
  page_ = UINT64_MAX;
  next_block_ = 0;
}

// Moves to the page of block I (flushing the previous one) and stores E.
void SnapshotWriter::set_entry(uint64_t i, const IndexEntry &e) {
  uint64_t p = i >> cur_.page_shift;
  if (p != page_) {
    flush_page();
    page_ = p;
    page_buf_.assign(size_t(page_length(cur_, p)) * INDEX_ENTRY_SIZE, 0);  // all ZERO entries
    page_data_ = page_parent_ = 0;
  }
  uint64_t k = i & ((uint64_t(1) << cur_.page_shift) - 1);
  encode_entry(e, page_buf_.data() + k * INDEX_ENTRY_SIZE);
  if (e.kind == BlockKind::DATA) page_data_++;
  if (e.kind == BlockKind::PARENT) page_parent_++;
}

// Writes the page being filled into the data area, or records it as a ZERO
// or PARENT page that costs no bytes.
void SnapshotWriter::flush_page() {
  if (page_ == UINT64_MAX) return;
  PageRef &r = cur_table_[page_];
  uint32_t n = page_length(cur_, page_);
  page_ = UINT64_MAX;
  if (page_data_ == 0 && page_parent_ == 0) return;  // stays ZERO
  if (page_data_ == 0 && page_parent_ == n) {
    r.kind = PageKind::PARENT;
    return;
  }
  thread_local std::vector<unsigned char> scratch;
  if (scratch.size() < compress_bound(page_buf_.size())) scratch.resize(compress_bound(page_buf_.size()));
  size_t len = compress_block(opts_.page_method, 3, page_buf_.data(), page_buf_.size(), scratch.data());
  const unsigned char *bytes = scratch.data();
  r.method = opts_.page_method;
  if (len >= page_buf_.size()) {  // compression did not pay
    r.method = Method::RAW;
    bytes = page_buf_.data();
    len = page_buf_.size();
  }
  r.kind = PageKind::STORED;
  r.offset = data_end_;
  r.stored_len = uint32_t(len);
  r.checksum = checksum(bytes, len);
  append(bytes, len);
  page_bytes_ += len;
}

void SnapshotWriter::put(uint64_t i, const EncodedBlock &b) {
  if (!in_stream_ || i < next_block_ || i >= cur_.block_count)
    throw Error("internal error: block " + std::to_string(i) + " out of order", EINVAL);
  next_block_ = i + 1;
  IndexEntry e;
  e.kind = b.kind;
  if (b.kind == BlockKind::DATA) {
    e.method = b.method;
    e.checksum = b.checksum;
    e.stored_len = uint32_t(b.stored.size());
    // Dedup: same checksum, method and stored bytes as an earlier block.
    bool found = false;
    auto [lo, hi] = dedup_.equal_range(b.checksum);
    for (auto it = lo; it != hi && !found; ++it) {
      const Stored &s = it->second;
      if (s.len != e.stored_len || s.method != b.method) continue;
      std::vector<unsigned char> old(s.len);
      if (s.offset >= buf_start_) {
        std::memcpy(old.data(), buf_.data() + (s.offset - buf_start_), s.len);
      } else if (pread_full(file_.fd(), old.data(), s.len, off_t(s.offset), file_.temp_path()) != s.len) {
        throw Error(file_.temp_path() + ": cannot read back a stored block", EIO);
      }
      if (std::memcmp(old.data(), b.stored.data(), s.len) == 0) {
        e.offset = s.offset;
        found = true;
      }
    }
    if (found) {
      dedup_blocks_++;
    } else {
      e.offset = data_end_;
      dedup_.emplace(b.checksum, Stored{data_end_, e.stored_len, b.method});
      append(b.stored.data(), b.stored.size());
    }
  }
  set_entry(i, e);
}

void SnapshotWriter::put_parent(uint64_t i) {
  if (!opts_.parent) throw Error("internal error: parent block in a snapshot without a parent", EINVAL);
  if (!in_stream_ || i < next_block_ || i >= cur_.block_count)
    throw Error("internal error: block " + std::to_string(i) + " out of order", EINVAL);
  next_block_ = i + 1;
  IndexEntry e;
  e.kind = BlockKind::PARENT;
  set_entry(i, e);
}

void SnapshotWriter::end_stream() {
  if (!in_stream_) throw Error("internal error: end_stream outside a stream", EINVAL);
  flush_page();
  in_stream_ = false;
  streams_done_[unsigned(cur_.id)] = true;
  finished_.emplace_back(cur_, std::move(cur_table_));
  cur_table_.clear();
}

void SnapshotWriter::write_section(SectionType type, uint32_t flags, const std::string &bytes) {
  SectionDesc d;
  d.type = uint32_t(type);
  d.flags = flags;
  d.offset = section_end_;
  d.length = bytes.size();
  d.checksum = checksum(bytes.data(), bytes.size());
  pwrite_full(file_.fd(), bytes.data(), bytes.size(), off_t(section_end_), file_.temp_path());
  section_end_ += bytes.size();
  header_.sections.push_back(d);
}

void SnapshotWriter::commit() {
  if (in_stream_) end_stream();
  flush_buffer();
  header_.data_end = data_end_;
  section_end_ = data_end_;
  for (auto &[sh, table] : finished_) {
    std::string bytes(STREAM_HEADER_SIZE + table.size() * PAGE_REF_SIZE, '\0');
    auto *b = reinterpret_cast<unsigned char *>(bytes.data());
    encode_stream_header(sh, b);
    for (size_t p = 0; p < table.size(); p++) encode_page_ref(table[p], b + STREAM_HEADER_SIZE + p * PAGE_REF_SIZE);
    write_section(SectionType::STREAM_INDEX, SECTION_REQUIRED, bytes);
  }
  if (opts_.parent) {
    ParentRef p;
    p.uuid = opts_.parent->second;
    p.path = relative_path(opts_.parent->first, dir_name(file_.final_path()));
    write_section(SectionType::PARENT, SECTION_REQUIRED, encode_parent(p));
  }
  if (!opts_.metadata.empty()) write_section(SectionType::METADATA, 0, encode_metadata(opts_.metadata));
  header_.file_size = section_end_;
  unsigned char hbuf[DATA_START] = {};
  encode_header(header_, hbuf);
  pwrite_full(file_.fd(), hbuf, DATA_START, 0, file_.temp_path());
  file_.commit();
}

}  // namespace hexz
