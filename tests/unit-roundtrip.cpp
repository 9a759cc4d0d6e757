// Round trips through the core writer and reader: every method, every block
// size, sizes that are not block multiples, empty and memory streams, dedup,
// and thin snapshots with parent chains.

#include <criterion/criterion.h>
#include <fcntl.h>
#include <unistd.h>

#include "error.h"
#include "unit-helpers.h"

using namespace hexz;
using test::pack;
using test::read_all;

static std::string path_for(const std::string &name) { return test::scratch_dir() + "/" + name; }

// A disk with text, random, zero and repeated regions, LEN bytes long.
static std::vector<unsigned char> mixed_disk(size_t len, uint32_t seed) {
  std::vector<unsigned char> d(len, 0);
  auto t = test::text_bytes(len / 3, seed);
  auto r = test::random_bytes(len / 4, seed + 1);
  std::copy(t.begin(), t.end(), d.begin());
  std::copy(r.begin(), r.end(), d.begin() + len / 3 + 8192);
  // A repeated 64 KiB pattern near the end, for dedup.
  if (len > 600000)
    for (size_t k = 0; k < 4; k++)
      std::copy(t.begin(), t.begin() + 65536, d.begin() + len - 300000 + k * 65536);
  return d;
}

Test(roundtrip, every_method_and_block_size) {
  const Method methods[] = {Method::LZ4, Method::ZSTD, Method::RAW};
  const uint32_t sizes[] = {4096, 8192, 65536, 262144, 1048576};
  auto disk = mixed_disk(3 * 1048576 + 12345, 7);  // not a block multiple
  for (Method m : methods)
    for (uint32_t bs : sizes) {
      WriterOptions wo;
      wo.method = m;
      wo.block_size = bs;
      std::string p = path_for("rt.st");
      pack(p, disk, nullptr, wo);
      auto s = Snapshot::open(p);
      cr_assert_eq(s->block_size(), bs);
      cr_assert(s->has_stream(StreamId::DISK));
      cr_assert(!s->has_stream(StreamId::MEMORY));
      cr_assert_eq(s->stream_size(StreamId::DISK), disk.size());
      cr_assert(read_all(*s, StreamId::DISK) == disk, "method %s block size %u differs", method_name(m), bs);
    }
}

Test(roundtrip, random_offsets_and_lengths) {
  auto disk = mixed_disk(2 * 1048576 + 777, 11);
  WriterOptions wo;
  wo.block_size = 16384;
  std::string p = path_for("ranges.st");
  pack(p, disk, nullptr, wo);
  auto s = Snapshot::open(p);
  std::mt19937 rng(3);
  for (int k = 0; k < 2000; k++) {
    uint64_t off = rng() % (disk.size() + 100);
    size_t len = rng() % 70000;
    std::vector<unsigned char> got(len);
    s->read(StreamId::DISK, off, len, got.data());
    for (size_t j = 0; j < len; j++) {
      unsigned char want = off + j < disk.size() ? disk[off + j] : 0;
      cr_assert_eq(got[j], want, "offset %llu byte %zu", (unsigned long long)off, j);
    }
  }
}

Test(roundtrip, zero_and_incompressible) {
  WriterOptions wo;
  std::string p = path_for("zero.st");
  std::vector<unsigned char> zeros(5 * 65536 + 1, 0);
  pack(p, zeros, nullptr, wo);
  auto s = Snapshot::open(p);
  for (uint64_t i = 0; i < s->block_count(StreamId::DISK); i++)
    cr_assert_eq(int(s->entry(StreamId::DISK, i).kind), int(BlockKind::ZERO));
  cr_assert_eq(s->file_size(), s->header().data_end + (s->file_size() - s->header().data_end));
  cr_assert_eq(s->header().data_end, DATA_START, "zero blocks must store no data");
  cr_assert(read_all(*s, StreamId::DISK) == zeros);

  // Random data does not compress: stored raw, costing no more than itself.
  auto rnd = test::random_bytes(8 * 65536, 5);
  pack(p, rnd, nullptr, wo);
  s = Snapshot::open(p);
  for (uint64_t i = 0; i < s->block_count(StreamId::DISK); i++) {
    IndexEntry e = s->entry(StreamId::DISK, i);
    cr_assert_eq(int(e.method), int(Method::RAW));
    cr_assert_eq(e.stored_len, 65536u);
  }
  cr_assert_eq(s->header().data_end - DATA_START - test::page_bytes(*s), rnd.size());
  cr_assert(read_all(*s, StreamId::DISK) == rnd);
}

Test(roundtrip, empty_and_memory_streams) {
  WriterOptions wo;
  std::string p = path_for("mem.st");
  std::vector<unsigned char> empty;
  auto mem = mixed_disk(1048576 + 3, 9);
  pack(p, empty, &mem, wo);
  auto s = Snapshot::open(p);
  cr_assert(s->has_stream(StreamId::DISK));
  cr_assert_eq(s->stream_size(StreamId::DISK), 0u);
  cr_assert_eq(s->block_count(StreamId::DISK), 0u);
  cr_assert(s->has_stream(StreamId::MEMORY));
  cr_assert(read_all(*s, StreamId::MEMORY) == mem);
}

Test(roundtrip, dedup_stores_identical_blocks_once) {
  WriterOptions wo;
  wo.block_size = 4096;
  auto block = test::random_bytes(4096, 1);
  std::vector<unsigned char> disk;
  for (int k = 0; k < 50; k++) disk.insert(disk.end(), block.begin(), block.end());
  auto other = test::random_bytes(4096, 2);
  disk.insert(disk.end(), other.begin(), other.end());
  std::string p = path_for("dedup.st");
  pack(p, disk, nullptr, wo);
  auto s = Snapshot::open(p);
  cr_assert_eq(s->header().data_end - DATA_START - test::page_bytes(*s), 2u * 4096, "50 copies + 1 other block must store 2 blocks");
  uint64_t first = s->entry(StreamId::DISK, 0).offset;
  for (uint64_t i = 1; i < 50; i++) cr_assert_eq(s->entry(StreamId::DISK, i).offset, first);
  cr_assert(read_all(*s, StreamId::DISK) == disk);
}

Test(roundtrip, metadata_is_kept) {
  WriterOptions wo;
  wo.metadata = {{"message", "first commit\nwith two lines"}, {"creator", "unit"}};
  std::string p = path_for("meta.st");
  pack(p, test::text_bytes(10000, 1), nullptr, wo);
  auto s = Snapshot::open(p);
  cr_assert(s->metadata() == wo.metadata);
}

// Writes a thin child of PARENT in which blocks where TAKE is true come from
// DATA and the rest are parent references.
static void pack_thin(const std::string &path, const std::string &parent, const std::vector<unsigned char> &data,
                      const std::function<bool(uint64_t)> &take, uint32_t bs = 65536) {
  auto ps = Snapshot::open(parent);
  WriterOptions wo;
  wo.block_size = bs;
  wo.parent = std::make_pair(parent, ps->uuid());
  SnapshotWriter w(path, wo);
  test::MemSource src(data);
  PackOptions po;
  po.take = take;
  pack_stream(w, StreamId::DISK, src, po);
  w.commit();
}

Test(roundtrip, thin_chain) {
  const size_t len = 20 * 65536 + 100;
  auto v0 = mixed_disk(len, 21);
  std::string p0 = path_for("c0.st"), p1 = path_for("c1.st"), p2 = path_for("c2.st");
  pack(p0, v0, nullptr, WriterOptions());
  auto v1 = v0;
  std::fill(v1.begin() + 65536 * 3, v1.begin() + 65536 * 4, 0xAB);
  pack_thin(p1, p0, v1, [](uint64_t i) { return i == 3; });
  auto v2 = v1;
  std::fill(v2.end() - 50, v2.end(), 0xCD);
  pack_thin(p2, p1, v2, [&](uint64_t i) { return i == (len - 1) / 65536; });
  auto s2 = Snapshot::open(p2);
  cr_assert(s2->parent() && s2->parent()->parent() && !s2->parent()->parent()->parent());
  cr_assert(s2->entry(StreamId::DISK, 0).kind == BlockKind::PARENT);
  cr_assert(read_all(*s2, StreamId::DISK) == v2);
  cr_assert(read_all(*Snapshot::open(p1), StreamId::DISK) == v1);
  // The parent path is stored relative to the child.
  cr_assert_eq(s2->parent_ref()->path, std::string("c1.st"));
}

Test(roundtrip, swapped_parent_is_refused) {
  std::string p0 = path_for("s0.st"), p1 = path_for("s1.st");
  auto v = mixed_disk(4 * 65536, 3);
  pack(p0, v, nullptr, WriterOptions());
  pack_thin(p1, p0, v, [](uint64_t) { return false; });
  // Replace the parent by another snapshot with the same content.
  pack(p0, v, nullptr, WriterOptions());
  try {
    Snapshot::open(p1);
    cr_assert_fail("a child whose parent UUID changed was opened");
  } catch (const Error &e) {
    cr_assert(std::string(e.what()).find("UUID") != std::string::npos, "message: %s", e.what());
  }
}

Test(roundtrip, missing_parent_is_refused) {
  std::string p0 = path_for("m0.st"), p1 = path_for("m1.st");
  auto v = mixed_disk(2 * 65536, 3);
  pack(p0, v, nullptr, WriterOptions());
  pack_thin(p1, p0, v, [](uint64_t) { return false; });
  unlink(p0.c_str());
  try {
    Snapshot::open(p1);
    cr_assert_fail("opened a child without its parent");
  } catch (const Error &e) {
    cr_assert(std::string(e.what()).find("m0.st") != std::string::npos, "message: %s", e.what());
  }
}

Test(roundtrip, chain_depth_limit) {
  // A chain of MAX_CHAIN_DEPTH snapshots opens; one more is refused.
  auto v = mixed_disk(65536, 1);
  std::string prev = path_for("d0.st");
  pack(prev, v, nullptr, WriterOptions());
  for (unsigned k = 1; k <= MAX_CHAIN_DEPTH; k++) {
    std::string next = path_for("d" + std::to_string(k) + ".st");
    pack_thin(next, prev, v, [](uint64_t) { return false; });
    prev = next;
  }
  cr_assert(read_all(*Snapshot::open(path_for("d" + std::to_string(MAX_CHAIN_DEPTH - 1) + ".st")),
                     StreamId::DISK) == v);
  try {
    Snapshot::open(prev);
    cr_assert_fail("a chain deeper than the limit was accepted");
  } catch (const Error &e) {
    cr_assert(std::string(e.what()).find("deeper") != std::string::npos, "message: %s", e.what());
  }
}

Test(roundtrip, extents_report_zero_runs) {
  std::vector<unsigned char> d(10 * 65536, 0);
  std::fill(d.begin() + 2 * 65536, d.begin() + 3 * 65536, 1);
  std::fill(d.begin() + 7 * 65536 + 5, d.begin() + 7 * 65536 + 6, 1);
  std::string p = path_for("ext.st");
  pack(p, d, nullptr, WriterOptions());
  auto s = Snapshot::open(p);
  std::vector<std::tuple<uint64_t, uint64_t, bool>> runs;
  s->extents(StreamId::DISK, 0, d.size(), [&](uint64_t o, uint64_t l, bool z) { runs.emplace_back(o, l, z); });
  std::vector<std::tuple<uint64_t, uint64_t, bool>> want = {
      {0, 2 * 65536, true}, {2 * 65536, 65536, false}, {3 * 65536, 4 * 65536, true},
      {7 * 65536, 65536, false}, {8 * 65536, 2 * 65536, true}};
  cr_assert(runs == want);
}

Test(roundtrip, no_partial_file_on_failure) {
  std::string p = path_for("never.st");
  {
    SnapshotWriter w(p, WriterOptions());
    w.begin_stream(StreamId::DISK, 65536);
    // Destroyed without commit(): as if the process failed half-way.
  }
  cr_assert(access(p.c_str(), F_OK) != 0, "a file appeared under the final name");
  // And no temporary file is left behind either.
  std::string cmd = "ls -A " + test::scratch_dir() + " | grep -q never";
  cr_assert(system(cmd.c_str()) != 0, "temporary file left behind");
}
