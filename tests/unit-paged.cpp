// The paged index (docs/format.md 1.3): huge sparse disks cost their data,
// opening reads two ranges, pages are ZERO/PARENT/STORED as the spec says,
// a damaged page fails only the blocks it describes, and hostile page
// tables are refused at open.

#include <chrono>
#include <criterion/criterion.h>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "checksum.h"
#include "endian.h"
#include "unit-helpers.h"

using namespace hexz;

namespace {

// A disk of any size that holds a few chunks of data and is a hole
// elsewhere (reported by extents(), like SEEK_DATA on a sparse file).
class SparseSource : public Source {
 public:
  SparseSource(uint64_t size, std::map<uint64_t, std::vector<unsigned char>> chunks)
      : size_(size), chunks_(std::move(chunks)) {}
  const std::string &name() const override { return name_; }
  uint64_t size() const override { return size_; }
  void pread(void *buf, size_t len, uint64_t off) override {
    reads_ += len;
    auto *out = static_cast<unsigned char *>(buf);
    std::memset(out, 0, len);
    for (auto &[o, d] : chunks_) {
      uint64_t s = std::max(o, off), e = std::min(o + d.size(), off + len);
      if (s < e) std::memcpy(out + (s - off), d.data() + (s - o), e - s);
    }
  }
  void extents(uint64_t off, uint64_t len, const std::function<void(uint64_t, uint64_t, bool)> &fn) override {
    uint64_t pos = off, end = off + len;
    for (auto &[o, d] : chunks_) {
      uint64_t s = std::max(o, pos), e = std::min(o + d.size(), end);
      if (s >= e) continue;
      if (s > pos) fn(pos, s - pos, true);
      fn(s, e - s, false);
      pos = e;
    }
    if (pos < end) fn(pos, end - pos, true);
  }
  uint64_t bytes_read() const { return reads_; }
  // The byte at OFF.
  unsigned char at(uint64_t off) const {
    for (auto &[o, d] : chunks_)
      if (off >= o && off < o + d.size()) return d[off - o];
    return 0;
  }

 private:
  uint64_t size_;
  std::map<uint64_t, std::vector<unsigned char>> chunks_;
  std::string name_ = "sparse-source";
  uint64_t reads_ = 0;
};

std::string path_for(const std::string &n) { return test::scratch_dir() + "/" + n; }

// Packs SRC as the disk stream of PATH.
void pack_source(const std::string &path, Source &src, const WriterOptions &wo) {
  SnapshotWriter w(path, wo);
  PackOptions po;
  po.threads = 2;
  pack_stream(w, StreamId::DISK, src, po);
  w.commit();
}

// Reads [off, off + len) of the disk stream and compares it with SRC.
void expect_same(const Snapshot &s, SparseSource &src, uint64_t off, size_t len) {
  std::vector<unsigned char> got(len), want(len);
  s.read(StreamId::DISK, off, len, got.data());
  src.pread(want.data(), len, off);
  cr_assert(got == want, "bytes differ at %llu+%zu", (unsigned long long)off, len);
}

std::map<uint64_t, std::vector<unsigned char>> scattered(uint64_t size, unsigned n, size_t len, uint32_t seed) {
  std::map<uint64_t, std::vector<unsigned char>> m;
  std::mt19937_64 rng(seed);
  for (unsigned k = 0; k < n; k++) {
    uint64_t off = (rng() % (size - len)) & ~uint64_t(511);
    m[off] = k % 2 ? test::random_bytes(len, seed + k) : test::text_bytes(len, seed + k);
  }
  // Data in the very last bytes, so the last (partial) page is stored.
  m[size - 1000] = test::text_bytes(1000, seed);
  return m;
}

void sparse_round_trip(uint64_t size, const char *name) {
  auto chunks = scattered(size, 40, 200000, 7);
  SparseSource src(size, chunks);
  std::string p = path_for(name);
  pack_source(p, src, WriterOptions());
  auto s = Snapshot::open(p);
  cr_assert_eq(s->stream_size(StreamId::DISK), size);
  // Only the data was read, and the file holds little more than the data.
  uint64_t data = 0;
  for (auto &[o, d] : chunks) data += d.size();
  cr_assert_leq(src.bytes_read(), data + 41 * 2 * 65536, "packing read %llu bytes", (unsigned long long)src.bytes_read());
  uint64_t table = s->page_count(StreamId::DISK) * PAGE_REF_SIZE;
  cr_assert_lt(s->file_size(), data + table + (1u << 20), "file is %llu bytes", (unsigned long long)s->file_size());
  for (auto &[o, d] : chunks) expect_same(*s, src, o > 5000 ? o - 5000 : 0, d.size() + 10000);
  expect_same(*s, src, size / 3, 70000);  // a hole
  // Extents: the data chunks are data, the rest zero.
  uint64_t data_bytes = 0, pos = 0;
  s->extents(StreamId::DISK, 0, size, [&](uint64_t o, uint64_t l, bool z) {
    cr_assert_eq(o, pos);
    pos += l;
    if (!z) data_bytes += l;
  });
  cr_assert_eq(pos, size);
  cr_assert_geq(data_bytes, data - 1000);
  cr_assert_leq(data_bytes, data + 41 * 2 * 65536);
}

}  // namespace

Test(paged, sparse_2tib_round_trip) { sparse_round_trip(2ull << 40, "2t.st"); }

Test(paged, sparse_64tib_round_trip) { sparse_round_trip(64ull << 40, "64t.st"); }

Test(paged, open_reads_header_and_section_area_only) {
  SparseSource src(1ull << 40, scattered(1ull << 40, 20, 100000, 3));
  std::string p = path_for("two-reads.st");
  WriterOptions wo;
  wo.metadata = {{"message", "two reads"}};
  pack_source(p, src, wo);
  auto bytes = test::load_file(p);
  uint64_t data_end = load_le64(&bytes[72]);
  auto *mem = new test::MemStorage(bytes);
  auto s = Snapshot::open(std::unique_ptr<Storage>(mem));
  auto reads = mem->reads();
  cr_assert_eq(reads.size(), 2u);
  cr_assert_eq(reads[0].first, 0u);
  cr_assert_eq(reads[0].second, HEADER_SIZE);
  cr_assert_eq(reads[1].first, data_end);
  cr_assert_eq(reads[1].second, bytes.size() - data_end);
  // A read in the data then fetches one page and one block.
  std::vector<unsigned char> buf(4096);
  uint64_t off = src.size() - 1000;
  s->read(StreamId::DISK, off, 1000, buf.data());
  cr_assert_eq(mem->reads().size(), 4u);
  cr_assert_eq(buf[10], src.at(off + 10));
}

Test(paged, last_partial_page) {
  // 64-entry pages, 4 KiB blocks: 200 blocks and a bit = 4 pages, the last
  // holding 9 entries, with data in its last (short) block.
  const uint64_t size = 200 * 4096 + 123;
  auto disk = test::text_bytes(size, 9);
  std::fill(disk.begin() + 64 * 4096, disk.begin() + 128 * 4096, 0);  // page 1 all zero
  WriterOptions wo;
  wo.block_size = 4096;
  wo.page_shift = 6;
  std::string p = path_for("partial.st");
  test::pack(p, disk, nullptr, wo);
  auto s = Snapshot::open(p);
  cr_assert_eq(s->page_count(StreamId::DISK), 4u);
  cr_assert_eq(s->page_entries(StreamId::DISK), 64u);
  cr_assert_eq(s->page_length(StreamId::DISK, 3), 9u);
  cr_assert(s->page_ref(StreamId::DISK, 0).kind == PageKind::STORED);
  cr_assert(s->page_ref(StreamId::DISK, 1).kind == PageKind::ZERO);
  cr_assert(s->page_ref(StreamId::DISK, 3).kind == PageKind::STORED);
  cr_assert_eq(s->read_page(StreamId::DISK, 3).size(), 9u);
  cr_assert(s->entry(StreamId::DISK, 200).kind == BlockKind::DATA);
  cr_assert(test::read_all(*s, StreamId::DISK) == disk);
}

Test(paged, thin_chain_parent_pages) {
  // A base of 3 pages; a thin child that changes one block of page 1: pages
  // 0 and 2 are PARENT pages (no bytes), page 1 is stored.
  const uint64_t size = 3 * 64 * 4096;
  auto base = test::text_bytes(size, 4);
  WriterOptions wo;
  wo.block_size = 4096;
  wo.page_shift = 6;
  std::string bp = path_for("pbase.st"), cp = path_for("pchild.st");
  test::pack(bp, base, nullptr, wo);
  auto b = Snapshot::open(bp);
  auto child = base;
  for (size_t k = 0; k < 4096; k++) child[70 * 4096 + k] = uint8_t(k * 7);
  wo.parent = std::make_pair(bp, b->uuid());
  {
    SnapshotWriter w(cp, wo);
    test::MemSource src(child);
    PackOptions po;
    po.take = [](uint64_t i) { return i == 70; };
    pack_stream(w, StreamId::DISK, src, po);
    w.commit();
  }
  auto s = Snapshot::open(cp);
  cr_assert(s->page_ref(StreamId::DISK, 0).kind == PageKind::PARENT);
  cr_assert(s->page_ref(StreamId::DISK, 1).kind == PageKind::STORED);
  cr_assert(s->page_ref(StreamId::DISK, 2).kind == PageKind::PARENT);
  cr_assert(s->entry(StreamId::DISK, 5).kind == BlockKind::PARENT);
  cr_assert(s->entry(StreamId::DISK, 70).kind == BlockKind::DATA);
  cr_assert(test::read_all(*s, StreamId::DISK) == child);
  // The child stores one block and one page: far less than a page of 64
  // blocks of text.
  cr_assert_lt(s->header().data_end - DATA_START, 4096u + 2000u);
  // A grandchild whose pages are all PARENT stores nothing at all.
  WriterOptions wo2 = wo;
  wo2.parent = std::make_pair(cp, s->uuid());
  std::string gp = path_for("pgrand.st");
  {
    SnapshotWriter w(gp, wo2);
    w.begin_stream(StreamId::DISK, size);
    for (uint64_t i = 0; i < size / 4096; i++) w.put_parent(i);
    w.end_stream();
    w.commit();
  }
  auto g = Snapshot::open(gp);
  cr_assert_eq(g->header().data_end, DATA_START);
  for (uint64_t p = 0; p < 3; p++) cr_assert(g->page_ref(StreamId::DISK, p).kind == PageKind::PARENT);
  cr_assert(test::read_all(*g, StreamId::DISK) == child);
  uint64_t zero = 0;
  g->extents(StreamId::DISK, 0, size, [&](uint64_t, uint64_t l, bool z) { zero += z ? l : 0; });
  cr_assert_eq(zero, 0u);
}

namespace {

// A 4-page stream with every page stored (64-entry pages, 4 KiB blocks),
// pages compressed with METHOD.
std::string four_pages(Method method, std::vector<unsigned char> &disk) {
  disk = test::text_bytes(4 * 64 * 4096, 12);
  WriterOptions wo;
  wo.block_size = 4096;
  wo.page_shift = 6;
  wo.page_method = method;
  std::string p = path_for(method == Method::RAW ? "four-raw.st" : "four.st");
  test::pack(p, disk, nullptr, wo);
  return p;
}

// The disk stream's section: its descriptor index and offset.
std::pair<unsigned, uint64_t> disk_section(const std::vector<unsigned char> &b) {
  uint32_t n = load_le32(&b[52]);
  for (unsigned k = 0; k < n; k++) {
    const unsigned char *d = &b[80 + 32 * k];
    if (load_le32(d) == 1 && load_le32(&b[load_le64(d + 8)]) == 0) return {k, load_le64(d + 8)};
  }
  cr_assert_fail("no disk stream");
  return {0, 0};
}

void fix_checksums(std::vector<unsigned char> &b, unsigned k) {
  unsigned char *d = &b[80 + 32 * k];
  store_le64(d + 24, checksum(&b[load_le64(d + 8)], load_le64(d + 16)));
  store_le64(&b[504], checksum(b.data(), 504));
}

void expect_refused(const std::vector<unsigned char> &b, const char *want) {
  std::string p = path_for("bad-table.st");
  test::save_file(p, b);
  try {
    Snapshot::open(p);
    cr_assert_fail("accepted (expected: %s)", want);
  } catch (const Error &e) {
    cr_assert(std::string(e.what()).find(want) != std::string::npos, "expected '%s' in: %s", want, e.what());
    cr_assert(std::string(e.what()).find(p) != std::string::npos, "no file name in: %s", e.what());
  }
}

}  // namespace

Test(paged, damaged_page_fails_only_its_blocks) {
  for (Method m : {Method::ZSTD, Method::RAW}) {
    std::vector<unsigned char> disk;
    auto b = test::load_file(four_pages(m, disk));
    auto [k, sec] = disk_section(b);
    const unsigned char *ref = &b[sec + 32 + PAGE_REF_SIZE * 2];  // page 2
    cr_assert_eq(ref[12], uint8_t(PageKind::STORED));
    b[load_le64(ref) + load_le32(ref + 8) / 2] ^= 0x20;
    std::string p = path_for("bad-page.st");
    test::save_file(p, b);
    auto s = Snapshot::open(p);  // page damage is found when the page is read
    std::vector<unsigned char> buf(4096);
    for (int attempt = 0; attempt < 2; attempt++) {  // failures are not cached
      for (uint64_t i : {128u, 150u, 191u}) {
        try {
          s->read_block(StreamId::DISK, i, buf.data());
          cr_assert_fail("block %llu of a damaged page was read", (unsigned long long)i);
        } catch (const Error &e) {
          std::string msg = e.what();
          cr_assert(msg.find(p + ": disk stream, index page 2: ") == 0, "message: %s", msg.c_str());
          cr_assert_eq(e.err(), EIO);
        }
      }
    }
    // Every other block still reads, from several threads at once.
    std::vector<std::thread> ts;
    std::atomic<int> bad{0};
    for (int t = 0; t < 4; t++)
      ts.emplace_back([&, t] {
        std::vector<unsigned char> tb(4096);
        for (uint64_t i = uint64_t(t); i < 256; i += 4) {
          if (i >= 128 && i < 192) continue;
          s->read_block(StreamId::DISK, i, tb.data());
          if (!std::equal(tb.begin(), tb.end(), disk.begin() + i * 4096)) bad++;
        }
      });
    for (auto &t : ts) t.join();
    cr_assert_eq(bad.load(), 0);
    try {
      s->read_page(StreamId::DISK, 2);
      cr_assert_fail("damaged page decoded");
    } catch (const Error &e) {
      cr_assert(std::string(e.what()).find("index page 2") != std::string::npos);
    }
  }
}

Test(paged, hostile_page_table_refused_at_open) {
  std::vector<unsigned char> disk;
  const auto good = test::load_file(four_pages(Method::ZSTD, disk));
  auto [k, sec] = disk_section(good);
  auto ref = [&](std::vector<unsigned char> &b, unsigned p) { return &b[sec + 32 + PAGE_REF_SIZE * p]; };
  uint64_t data_end = load_le64(&good[72]);
  struct Case {
    unsigned page;
    size_t field;
    uint64_t value;
    int width;
    const char *want;
  } cases[] = {
      {1, 0, good.size() + 4096, 8, "index page 1: lies outside the data area"},
      {1, 0, data_end - 10, 8, "index page 1: lies outside the data area"},
      {1, 0, 100, 8, "index page 1: lies outside the data area"},
      {0, 0, UINT64_MAX - 5, 8, "index page 0: lies outside the data area"},
      {3, 8, 0, 4, "index page 3: stored length 0 out of range"},
      {3, 8, 1u << 30, 4, "index page 3: stored length"},
      {2, 12, 7, 1, "index page 2: unknown page kind 7"},
      {2, 13, 9, 1, "index page 2: unknown compression method 9"},
      {2, 12, 2, 1, "index page 2: parent page in a snapshot without a parent"},
  };
  for (auto &c : cases) {
    auto b = good;
    unsigned char *f = ref(b, c.page) + c.field;
    if (c.width == 1) *f = uint8_t(c.value);
    else if (c.width == 4) store_le32(f, uint32_t(c.value));
    else store_le64(f, c.value);
    fix_checksums(b, k);
    expect_refused(b, c.want);
  }
  // Two pages at the same bytes, and a page overlapping the next one.
  auto b = good;
  std::memcpy(ref(b, 2), ref(b, 1), PAGE_REF_SIZE);
  fix_checksums(b, k);
  expect_refused(b, "overlap");
  b = good;
  store_le64(ref(b, 1), load_le64(ref(b, 2)) - 1);
  fix_checksums(b, k);
  expect_refused(b, "index page 1 of the disk stream and index page 2 of the disk stream overlap");
  // A page count that does not match the blocks; a bad page shift.
  b = good;
  store_le64(&b[sec + 24], 5);
  fix_checksums(b, k);
  expect_refused(b, "page count 5 does not match");
  b = good;
  b[sec + 4] = 17;
  fix_checksums(b, k);
  expect_refused(b, "page shift 17");
  // The pristine file opens (so the cases above failed for their reason).
  test::save_file(path_for("good-table.st"), good);
  cr_assert(test::read_all(*Snapshot::open(path_for("good-table.st")), StreamId::DISK) == disk);
}

Test(paged, hostile_entries_in_a_page_fail_at_read) {
  // RAW pages let the test rewrite entries and recompute the page checksum:
  // damage that passes the checksums is still found by the entry checks.
  std::vector<unsigned char> disk;
  const auto good = test::load_file(four_pages(Method::RAW, disk));
  auto [k, sec] = disk_section(good);
  struct Case {
    size_t field;
    uint64_t value;
    int width;
    const char *want;
  } cases[] = {
      {12, 9, 1, "unknown block kind"},
      {13, 7, 1, "unknown compression method"},
      {8, 1u << 30, 4, "stored length"},
      {0, 100, 8, "outside the data area"},
      {0, UINT64_MAX - 5, 8, "outside the data area"},
      {12, 2, 1, "parent block in a snapshot without a parent"},
  };
  for (auto &c : cases) {
    auto b = good;
    unsigned char *r = &b[sec + 32 + PAGE_REF_SIZE * 1];  // page 1: blocks 64..127
    unsigned char *e = &b[load_le64(r) + 5 * INDEX_ENTRY_SIZE + c.field];  // block 69
    if (c.width == 1) *e = uint8_t(c.value);
    else if (c.width == 4) store_le32(e, uint32_t(c.value));
    else store_le64(e, c.value);
    store_le64(r + 16, checksum(&b[load_le64(r)], load_le32(r + 8)));
    fix_checksums(b, k);
    std::string p = path_for("hostile-entry.st");
    test::save_file(p, b);
    auto s = Snapshot::open(p);
    try {
      s->entry(StreamId::DISK, 64);
      cr_assert_fail("page with a hostile entry was used (%s)", c.want);
    } catch (const Error &err) {
      std::string m = err.what();
      cr_assert(m.find(p) != std::string::npos && m.find("disk stream, index page 1, block 69: ") != std::string::npos &&
                    m.find(c.want) != std::string::npos,
                "message: %s", m.c_str());
      cr_assert_eq(err.err(), EIO);
    }
    std::vector<unsigned char> buf(4096);
    s->read_block(StreamId::DISK, 0, buf.data());  // page 0 is fine
    cr_assert(std::equal(buf.begin(), buf.end(), disk.begin()));
  }
}

Test(paged, version_1_is_refused) {
  std::vector<unsigned char> disk;
  auto b = test::load_file(four_pages(Method::ZSTD, disk));
  store_le16(&b[8], 1);
  store_le64(&b[504], checksum(b.data(), 504));
  expect_refused(b, "format version 1 (written by hexz before its paged index) is no longer read");
}

// Threads that miss on the same page at once wait for one read of it.
Test(paged, parallel_misses_read_a_page_once) {
  SparseSource src(256ull << 20, scattered(256ull << 20, 50, 60000, 4));
  std::string p = path_for("single-flight.st");
  pack_source(p, src, WriterOptions());
  // Slow reads after the open make the threads meet on the miss.
  struct SlowStorage : test::MemStorage {
    using MemStorage::MemStorage;
    void read(void *buf, size_t len, uint64_t off) override {
      if (reads().size() >= 2) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      MemStorage::read(buf, len, off);
    }
  };
  auto *mem = new SlowStorage(test::load_file(p));
  auto s = Snapshot::open(std::unique_ptr<Storage>(mem));
  cr_assert_eq(s->page_count(StreamId::DISK), 1u);
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < 16; t++) ts.emplace_back([&, t] { s->entry(StreamId::DISK, t * 97); });
  for (auto &t : ts) t.join();
  cr_assert_eq(mem->reads().size(), 3u, "%zu reads: the page was read more than once", mem->reads().size());
}

Test(paged, page_cache_is_bounded_lru) {
  // 16 shards: keys 16 apart may share a shard or not; use one shard's
  // worth of capacity per page so that every insert evicts within a shard.
  const size_t n = 1000;
  uint64_t page_bytes = n * sizeof(IndexEntry) + 64;
  PageCache c(page_bytes * 16 * 2);  // two pages per shard
  auto page = [&](uint64_t tag) {
    auto p = std::make_shared<Page>(n);
    (*p)[3].offset = tag;
    return std::shared_ptr<const Page>(p);
  };
  IndexEntry e;
  for (uint64_t key = 0; key < 200; key++) c.insert(key, page(key * 10));
  unsigned cached = 0;
  for (uint64_t key = 0; key < 200; key++)
    if (c.lookup(key, 3, e)) {
      cached++;
      cr_assert_eq(e.offset, key * 10);
    }
  cr_assert_leq(cached, 32u, "%u pages cached, at most 32 fit", cached);
  cr_assert_geq(cached, 16u);
  cr_assert(c.lookup(199, 3, e), "the newest page was evicted");
  // Used pages stay: touch key 500's page while inserting others in its shard.
  c.insert(500, page(5000));
  for (uint64_t key = 1000; key < 1400; key++) {
    cr_assert(c.lookup(500, 3, e) && e.offset == 5000, "a page in use was evicted");
    c.insert(key, page(key));
  }
}
