#include "snapshot.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "checksum.h"
#include "codec.h"
#include "endian.h"
#include "error.h"
#include "remote-storage.h"

namespace hexz {

// PATH may be a URL (remote-storage.h).
std::shared_ptr<const Snapshot> Snapshot::open(const std::string &path, Parent policy) {
  return open(open_storage(path), policy);
}

std::shared_ptr<const Snapshot> Snapshot::open(std::unique_ptr<Storage> storage, Parent policy) {
  std::vector<Uuid> seen;
  return open_chain(std::move(storage), 0, seen, policy);
}

static Error invalid(const std::string &path, const std::string &what) {
  return Error(path + ": not a valid hexz snapshot: " + what, EIO);
}

std::shared_ptr<const Snapshot> Snapshot::open_chain(std::unique_ptr<Storage> storage, unsigned depth,
                                                     std::vector<Uuid> &seen, Parent policy) {
  const std::string path = storage->name();
  if (depth >= MAX_CHAIN_DEPTH)
    throw Error(path + ": snapshot chain is deeper than " + std::to_string(MAX_CHAIN_DEPTH) + " snapshots", EINVAL);
  std::shared_ptr<Snapshot> s(new Snapshot);
  s->path_ = path;
  s->storage_ = std::move(storage);
  uint64_t file_size = s->storage_->size();
  if (file_size < DATA_START)
    throw Error(path + ": not a valid hexz snapshot: file is only " + std::to_string(file_size) +
                    " bytes (truncated?)",
                EIO);
  unsigned char hbuf[HEADER_SIZE];
  s->storage_->read(hbuf, HEADER_SIZE, 0);
  s->header_ = decode_header(hbuf, file_size, path);
  const Header &h = s->header_;

  for (auto &uuid : seen)
    if (uuid == h.uuid) throw Error(path + ": snapshot chain has a cycle (UUID " + uuid_to_string(uuid) + " appears twice)", EINVAL);
  seen.push_back(h.uuid);

  // The second and last read of the open: every section lies in
  // [data_end, file_size), so one read fetches them all.
  std::string area(file_size - h.data_end, '\0');
  if (!area.empty()) s->storage_->read(area.data(), area.size(), h.data_end);
  auto section = [&](const SectionDesc &d) {
    std::string bytes = area.substr(d.offset - h.data_end, d.length);
    if (checksum(bytes.data(), bytes.size()) != d.checksum)
      throw invalid(path, "checksum mismatch in section of type " + std::to_string(d.type));
    return bytes;
  };

  bool have_parent_section = false;
  for (const SectionDesc &d : h.sections) {
    switch (SectionType(d.type)) {
      case SectionType::STREAM_INDEX:
        s->parse_stream(section(d));
        break;
      case SectionType::PARENT:
        if (have_parent_section) throw invalid(path, "two parent sections");
        have_parent_section = true;
        s->parent_ref_ = decode_parent(section(d), path);
        break;
      case SectionType::METADATA:
        s->metadata_ = decode_metadata(section(d), path);
        break;
      default:
        break;  // SIGNATURE and unknown optional sections are ignored
    }
  }
  s->check_pages_disjoint();
  bool thin = h.incompat_flags & INCOMPAT_PARENT;
  if (thin != have_parent_section)
    throw Error(path + ": not a valid hexz snapshot: parent flag and parent section disagree", EIO);
  if (thin) {
    try {
      open_parent_of(*s, depth, seen);
    } catch (const Error &e) {
      if (policy == Parent::REQUIRED) throw;
      s->parent_.reset();
      s->parent_error_ = e.what();
    }
  }
  return s;
}

void Snapshot::open_parent_of(Snapshot &s, unsigned depth, std::vector<Uuid> &seen) {
  const std::string &rel = s.parent_ref_->path;
  try {
    s.parent_ = open_chain(s.storage_->open_relative(rel), depth + 1, seen, Parent::REQUIRED);
  } catch (const Error &e) {
    throw Error(s.path_ + ": cannot open parent snapshot: " + e.what(), e.err());
  }
  if (s.parent_->uuid() != s.parent_ref_->uuid)
    throw Error(s.path_ + ": parent " + s.parent_->path() + " has UUID " + uuid_to_string(s.parent_->uuid()) +
                    " but " + uuid_to_string(s.parent_ref_->uuid) +
                    " was expected (the parent was replaced or modified; hexz-rebase re-points a moved parent)",
                EINVAL);
}

const Snapshot &Snapshot::open_parent() const {
  if (!parent_)
    throw Error(path_ + ": this block is in the parent " + parent_ref_->path + ", which is not open: " + parent_error_,
                EIO);
  return *parent_;
}

void Snapshot::parse_stream(const std::string &bytes) {
  if (bytes.size() < STREAM_HEADER_SIZE) throw invalid(path_, "stream section too short");
  auto *b = reinterpret_cast<const unsigned char *>(bytes.data());
  StreamHeader hdr = decode_stream_header(b, header_.block_size, path_);
  if (hdr.page_count > (bytes.size() - STREAM_HEADER_SIZE) / PAGE_REF_SIZE ||
      bytes.size() != STREAM_HEADER_SIZE + hdr.page_count * PAGE_REF_SIZE)
    throw invalid(path_, std::string(stream_name(hdr.id)) + " stream page table length does not match its page count");
  Stream &st = streams_[unsigned(hdr.id)];
  if (st.present) throw invalid(path_, std::string("two ") + stream_name(hdr.id) + " streams");
  st.present = true;
  st.hdr = hdr;
  st.table.reserve(hdr.page_count);
  for (uint64_t p = 0; p < hdr.page_count; p++)
    st.table.push_back(decode_page_ref(b + STREAM_HEADER_SIZE + p * PAGE_REF_SIZE, header_, hdr, p, path_));
}

// Two page table entries must never share stored bytes: a hostile table
// could otherwise make one damaged page look like two, or alias a page onto
// another stream's.  (Pages and blocks are checked by their checksums.)
void Snapshot::check_pages_disjoint() const {
  struct Range {
    uint64_t start, end;
    unsigned stream;
    uint64_t page;
  };
  std::vector<Range> r;
  for (unsigned k = 0; k < NUM_STREAMS; k++)
    for (uint64_t p = 0; p < streams_[k].table.size(); p++) {
      const PageRef &ref = streams_[k].table[p];
      if (ref.kind == PageKind::STORED) r.push_back({ref.offset, ref.offset + ref.stored_len, k, p});
    }
  std::sort(r.begin(), r.end(), [](const Range &a, const Range &b) { return a.start < b.start; });
  for (size_t k = 1; k < r.size(); k++)
    if (r[k].start < r[k - 1].end)
      throw invalid(path_, std::string("index page ") + std::to_string(r[k - 1].page) + " of the " +
                               stream_name(StreamId(r[k - 1].stream)) + " stream and index page " +
                               std::to_string(r[k].page) + " of the " + stream_name(StreamId(r[k].stream)) +
                               " stream overlap");
}

Page Snapshot::read_page(StreamId s, uint64_t p) const {
  const Stream &st = streams_[unsigned(s)];
  if (!st.present || p >= st.hdr.page_count) throw Error(path_ + ": index page out of range", EINVAL);
  const PageRef &ref = st.table[p];
  const uint32_t n = hexz::page_length(st.hdr, p);
  if (ref.kind != PageKind::STORED) {
    IndexEntry e;
    e.kind = ref.kind == PageKind::ZERO ? BlockKind::ZERO : BlockKind::PARENT;
    return Page(n, e);
  }
  auto fail = [&](const std::string &what, int err = EIO) {
    return Error(path_ + ": " + stream_name(s) + " stream, index page " + std::to_string(p) + ": " + what, err);
  };
  std::vector<unsigned char> stored(ref.stored_len);
  try {
    storage_->read(stored.data(), stored.size(), ref.offset);
  } catch (const Error &e) {
    throw fail(e.what(), e.err());
  }
  if (checksum(stored.data(), stored.size()) != ref.checksum) throw fail("checksum mismatch (the index page is damaged)");
  const unsigned char *raw = stored.data();
  if (ref.method != Method::RAW) {
    // Pages are decoded into this thread's scratch buffer, so that walking
    // every page of a stream allocates one page, not two, per page.
    thread_local std::vector<unsigned char> scratch;
    scratch.resize(size_t(n) * INDEX_ENTRY_SIZE);
    if (!decompress_block(ref.method, stored.data(), stored.size(), scratch.data(), scratch.size()))
      throw fail(std::string(method_name(ref.method)) + " data is corrupt (the index page is damaged)");
    raw = scratch.data();
  }
  Page page;
  page.reserve(n);
  const uint64_t first = p << st.hdr.page_shift;
  for (uint32_t k = 0; k < n; k++)
    page.push_back(decode_entry(raw + size_t(k) * INDEX_ENTRY_SIZE, header_, st.hdr, first + k, path_));
  return page;
}

// Page cache keys: the page number with the stream id in the low bit.
static uint64_t page_key(StreamId s, uint64_t p) { return p << 1 | unsigned(s); }

IndexEntry Snapshot::entry(StreamId s, uint64_t i) const {
  const Stream &st = streams_[unsigned(s)];
  if (!st.present || i >= st.hdr.block_count) throw Error(path_ + ": block index out of range", EINVAL);
  const uint64_t p = i >> st.hdr.page_shift;
  const PageRef &ref = st.table[p];
  IndexEntry e;
  if (ref.kind != PageKind::STORED) {
    e.kind = ref.kind == PageKind::ZERO ? BlockKind::ZERO : BlockKind::PARENT;
    return e;
  }
  const uint64_t key = page_key(s, p);
  const uint32_t k = uint32_t(i & ((uint64_t(1) << st.hdr.page_shift) - 1));
  if (pages_.lookup(key, k, e)) return e;
  return (*cached_page(s, p))[k];
}

std::shared_ptr<const Page> Snapshot::cached_page(StreamId s, uint64_t p) const {
  const uint64_t key = page_key(s, p);
  std::unique_lock<std::mutex> lk(loading_mu_);
  auto it = loading_.find(key);
  if (it != loading_.end()) {
    auto f = it->second;
    lk.unlock();
    return f.get();  // rethrows the loader's Error
  }
  // Loaded (and inserted) since the caller's lookup missed?
  if (auto page = pages_.find(key)) return page;
  std::promise<std::shared_ptr<const Page>> promise;
  auto f = promise.get_future().share();
  loading_.emplace(key, f);
  lk.unlock();
  try {
    auto page = std::make_shared<const Page>(read_page(s, p));
    pages_.insert(key, page);
    promise.set_value(std::move(page));
  } catch (...) {
    promise.set_exception(std::current_exception());
  }
  lk.lock();
  loading_.erase(key);
  lk.unlock();
  return f.get();
}

void Snapshot::preload_index() const {
  if (!dynamic_cast<RemoteStorage *>(storage_.get())) return;
  std::vector<std::pair<StreamId, uint64_t>> todo;
  std::vector<std::pair<uint64_t, uint32_t>> keys;
  uint64_t stored = 0;
  for (unsigned k = 0; k < NUM_STREAMS; k++)
    for (uint64_t p = 0; p < streams_[k].table.size(); p++) {
      const PageRef &ref = streams_[k].table[p];
      if (ref.kind != PageKind::STORED) continue;
      todo.emplace_back(StreamId(k), p);
      stored += ref.stored_len;
      keys.emplace_back(page_key(StreamId(k), p), hexz::page_length(streams_[k].hdr, p));
    }
  // Only what the cache keeps: a page pushed out again would be fetched twice.
  if (todo.empty() || stored > PRELOAD_PAGE_BYTES || !pages_.would_keep(keys)) return;
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  const size_t n = std::min<size_t>(todo.size(), 16);
  for (size_t t = 0; t < n; t++)
    threads.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < todo.size();) {
        try {
          cached_page(todo[i].first, todo[i].second);
        } catch (const Error &) {
          // Fetched again, and reported, by the first request that needs it.
        }
      }
    });
  for (auto &t : threads) t.join();
}

void Snapshot::read_block(StreamId s, uint64_t i, void *buf) const { read_block(s, i, entry(s, i), buf); }

void Snapshot::read_block(StreamId s, uint64_t i, const IndexEntry &e, void *buf) const {
  const Stream &st = streams_[unsigned(s)];
  uint32_t len = block_length(st.hdr.logical_size, header_.block_size, i);
  switch (e.kind) {
    case BlockKind::ZERO:
      std::memset(buf, 0, len);
      return;
    case BlockKind::PARENT:
      open_parent().read(s, i * header_.block_size, len, buf);
      return;
    case BlockKind::DATA:
      break;
  }
  auto fail = [&](const std::string &what) {
    return Error(path_ + ": " + stream_name(s) + " stream, block " + std::to_string(i) + ": " + what, EIO);
  };
  auto fetch = [&](void *dst, size_t n) {
    try {
      storage_->read(dst, n, e.offset);
    } catch (const Error &err) {
      throw Error(path_ + ": " + stream_name(s) + " stream, block " + std::to_string(i) + ": " + err.what(), err.err());
    }
  };
  if (e.method == Method::RAW) {
    fetch(buf, len);
  } else {
    thread_local std::vector<unsigned char> stored;
    if (stored.size() < e.stored_len) stored.resize(MAX_BLOCK_SIZE);
    fetch(stored.data(), e.stored_len);
    if (!decompress_block(e.method, stored.data(), e.stored_len, buf, len))
      throw fail(std::string(method_name(e.method)) + " data is corrupt");
  }
  if (checksum(buf, len) != e.checksum) throw fail("checksum mismatch (data is damaged)");
}

void Snapshot::read_part(StreamId s, uint64_t i, const IndexEntry &e, uint32_t off, size_t n, void *out) const {
  const uint32_t blen = block_length(streams_[unsigned(s)].hdr.logical_size, header_.block_size, i);
  if (off == 0 && n == blen) return read_block(s, i, e, out);
  thread_local std::vector<unsigned char> tmp;
  if (tmp.size() < MAX_BLOCK_SIZE) tmp.resize(MAX_BLOCK_SIZE);
  // read_block may recurse into a parent that uses tmp too: decode into a
  // local copy of the pointer's target only after the call returns.
  std::vector<unsigned char> local;
  unsigned char *dst = tmp.data();
  if (e.kind == BlockKind::PARENT) {
    local.resize(blen);
    dst = local.data();
  }
  read_block(s, i, e, dst);
  std::memcpy(out, dst + off, n);
}

void Snapshot::read(StreamId s, uint64_t offset, size_t len, void *buf) const {
  auto *out = static_cast<unsigned char *>(buf);
  const Stream &st = streams_[unsigned(s)];
  uint64_t size = st.present ? st.hdr.logical_size : 0;
  const uint32_t bs = header_.block_size;
  while (len > 0) {
    if (offset >= size) {
      std::memset(out, 0, len);
      return;
    }
    uint64_t i = offset / bs;
    uint32_t in_block = uint32_t(offset % bs);
    size_t n = std::min<uint64_t>(len, block_length(size, bs, i) - in_block);
    read_part(s, i, entry(s, i), in_block, n, out);
    out += n;
    offset += n;
    len -= n;
  }
}

void Snapshot::extents_raw(StreamId s, uint64_t offset, uint64_t len,
                           const std::function<void(uint64_t, uint64_t, bool)> &fn) const {
  const Stream &st = streams_[unsigned(s)];
  uint64_t size = st.present ? st.hdr.logical_size : 0;
  const uint32_t bs = header_.block_size;
  uint64_t end = offset + len;
  while (offset < end) {
    if (offset >= size) {
      fn(offset, end - offset, true);
      return;
    }
    uint64_t i = offset / bs;
    const PageRef &ref = st.table[i >> st.hdr.page_shift];
    if (ref.kind != PageKind::STORED) {
      // A whole ZERO or PARENT page at once, without reading it.
      uint64_t next_page = ((i >> st.hdr.page_shift) + 1) << st.hdr.page_shift;
      uint64_t pend = std::min<uint64_t>(next_page >= st.hdr.block_count ? size : next_page * bs, end);
      if (ref.kind == PageKind::PARENT)
        open_parent().extents_raw(s, offset, pend - offset, fn);
      else
        fn(offset, pend - offset, true);
      offset = pend;
      continue;
    }
    uint64_t bend = std::min<uint64_t>({(i + 1) * bs, size, end});
    IndexEntry e = entry(s, i);
    if (e.kind == BlockKind::PARENT)
      open_parent().extents_raw(s, offset, bend - offset, fn);
    else
      fn(offset, bend - offset, e.kind == BlockKind::ZERO);
    offset = bend;
  }
}

void Snapshot::extents(StreamId s, uint64_t offset, uint64_t len,
                       const std::function<void(uint64_t, uint64_t, bool)> &fn) const {
  uint64_t run_off = offset, run_len = 0;
  bool run_zero = false;
  extents_raw(s, offset, len, [&](uint64_t o, uint64_t l, bool z) {
    if (run_len > 0 && z == run_zero) {
      run_len += l;
      return;
    }
    if (run_len > 0) fn(run_off, run_len, run_zero);
    run_off = o;
    run_len = l;
    run_zero = z;
  });
  if (run_len > 0) fn(run_off, run_len, run_zero);
}

}  // namespace hexz
