// Every kind of damage named in docs/format.md is refused with a clear error
// naming the file, including damage that passes the checksums (a hostile
// file can recompute them).

#include <criterion/criterion.h>
#include <fstream>
#include <iterator>
#include <sys/wait.h>

#include "checksum.h"
#include "endian.h"
#include "error.h"
#include "unit-helpers.h"

using namespace hexz;

namespace {

std::string good_path() {
  static std::string p;
  if (p.empty()) {
    p = test::scratch_dir() + "/good.st";
    auto disk = test::text_bytes(5 * 65536 + 100, 1);
    auto mem = test::random_bytes(70000, 2);
    WriterOptions wo;
    wo.metadata = {{"message", "hello"}};
    test::pack(p, disk, &mem, wo);
  }
  return p;
}

void fix_header_checksum(std::vector<unsigned char> &b) { store_le64(&b[504], checksum(b.data(), 504)); }

// Section descriptor K's fields.
unsigned char *desc(std::vector<unsigned char> &b, unsigned k) { return &b[80 + 32 * k]; }

// Finds the descriptor of the first section of TYPE.
unsigned find_section(std::vector<unsigned char> &b, uint32_t type) {
  uint32_t n = load_le32(&b[52]);
  for (unsigned k = 0; k < n; k++)
    if (load_le32(desc(b, k)) == type) return k;
  cr_assert_fail("no section of type %u", type);
  return 0;
}

void fix_section_checksum(std::vector<unsigned char> &b, unsigned k) {
  unsigned char *d = desc(b, k);
  uint64_t off = load_le64(d + 8), len = load_le64(d + 16);
  store_le64(d + 24, checksum(&b[off], len));
  fix_header_checksum(b);
}

// Opening the mutated bytes must fail with a message containing WANT and the
// file name.
void expect_refused(const std::vector<unsigned char> &b, const char *want) {
  std::string p = test::scratch_dir() + "/bad.st";
  test::save_file(p, b);
  try {
    auto s = Snapshot::open(p);
    cr_assert_fail("damaged file was accepted (expected: %s)", want);
  } catch (const Error &e) {
    std::string m = e.what();
    cr_assert(m.find(p) != std::string::npos, "message does not name the file: %s", m.c_str());
    cr_assert(m.find(want) != std::string::npos, "expected '%s' in: %s", want, m.c_str());
  }
}

}  // namespace

Test(format, good_file_opens) {
  auto s = Snapshot::open(good_path());
  cr_assert(s->has_stream(StreamId::DISK) && s->has_stream(StreamId::MEMORY));
}

Test(format, truncated) {
  auto b = test::load_file(good_path());
  b.resize(b.size() - 1);
  expect_refused(b, "truncated");
  b.resize(100);
  expect_refused(b, "truncated");
  b.clear();
  expect_refused(b, "truncated");
}

Test(format, bad_magic_and_version) {
  auto b = test::load_file(good_path());
  b[1] = 'X';
  expect_refused(b, "bad magic");
  b = test::load_file(good_path());
  store_le16(&b[8], 3);
  fix_header_checksum(b);
  expect_refused(b, "version 3");
}

Test(format, flipped_header_byte) {
  auto good = test::load_file(good_path());
  for (size_t i = 12; i < 504; i += 7) {
    auto b = good;
    b[i] ^= 0x10;
    expect_refused(b, "header checksum mismatch");
  }
}

Test(format, unknown_incompat_flag) {
  auto b = test::load_file(good_path());
  store_le64(&b[24], 1u << 5);
  fix_header_checksum(b);
  expect_refused(b, "unknown incompatible feature flags");
}

Test(format, unknown_compat_flag_is_ignored) {
  auto b = test::load_file(good_path());
  store_le64(&b[16], 1u << 9);
  fix_header_checksum(b);
  std::string p = test::scratch_dir() + "/compat.st";
  test::save_file(p, b);
  cr_assert(Snapshot::open(p)->has_stream(StreamId::DISK));
}

Test(format, bad_block_size) {
  auto b = test::load_file(good_path());
  store_le32(&b[48], 65535);
  fix_header_checksum(b);
  expect_refused(b, "block size");
  store_le32(&b[48], 2048);
  fix_header_checksum(b);
  expect_refused(b, "block size");
}

Test(format, huge_lengths) {
  auto b = test::load_file(good_path());
  unsigned k = find_section(b, 1);
  store_le64(desc(b, k) + 16, UINT64_MAX - 10);
  fix_header_checksum(b);
  expect_refused(b, "outside");
  b = test::load_file(good_path());
  store_le32(&b[52], 200);
  fix_header_checksum(b);
  expect_refused(b, "section count");
  b = test::load_file(good_path());
  store_le64(&b[72], UINT64_MAX);
  fix_header_checksum(b);
  expect_refused(b, "data area");
}

Test(format, flipped_index_byte) {
  auto b = test::load_file(good_path());
  unsigned k = find_section(b, 1);
  uint64_t off = load_le64(desc(b, k) + 8);
  b[off + 40] ^= 1;
  expect_refused(b, "checksum mismatch in section");
}

// (Hostile page table entries and index entries: unit-paged.cpp.)
Test(format, hostile_stream_header_with_valid_checksums) {
  auto good = test::load_file(good_path());
  unsigned k = find_section(good, 1);
  uint64_t off = load_le64(desc(good, k) + 8);
  // Block count that does not match the stream size.
  auto b = good;
  store_le64(&b[off + 16], load_le64(&b[off + 16]) + 1);
  fix_section_checksum(b, k);
  expect_refused(b, "block count");
  // Unknown stream id.
  b = good;
  store_le32(&b[off], 7);
  fix_section_checksum(b, k);
  expect_refused(b, "unknown stream id");
}

// A stream header claiming a 16 EiB disk, with a consistent block and page
// count and valid checksums: refused from the section's real length, before
// anything is allocated for what the header claims, by the reader and by
// hexz-info (which once aborted on std::bad_alloc here), with exit status 1.
Test(format, disk_of_16_eib_is_refused_without_allocating) {
  auto b = test::load_file(good_path());
  unsigned k = find_section(b, 1);
  uint64_t off = load_le64(desc(b, k) + 8);
  const uint64_t size = UINT64_MAX - 65535, bs = load_le32(&b[48]), blocks = size / bs + (size % bs != 0);
  const uint64_t per_page = uint64_t(1) << b[off + 4];
  store_le64(&b[off + 8], size);
  store_le64(&b[off + 16], blocks);
  store_le64(&b[off + 24], blocks / per_page + (blocks % per_page != 0));
  fix_section_checksum(b, k);
  expect_refused(b, "page count");
  std::string p = test::scratch_dir() + "/bad.st";
  std::string cmd = "hexz-info '" + p + "' 2>&1";
  FILE *f = popen(cmd.c_str(), "r");
  cr_assert(f);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  int status = pclose(f);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "hexz-info: status %d: %s", status, out.c_str());
  cr_assert(out.find("hexz-info: " + p) != std::string::npos, "hexz-info does not name the file: %s", out.c_str());
  cr_assert(out.find("out of memory") == std::string::npos, "hexz-info allocated for the claim: %s", out.c_str());
}

Test(format, unknown_sections) {
  auto b = test::load_file(good_path());
  unsigned k = find_section(b, 3);  // metadata
  store_le32(desc(b, k), 99);       // unknown, not required: ignored
  fix_header_checksum(b);
  std::string p = test::scratch_dir() + "/opt.st";
  test::save_file(p, b);
  cr_assert(Snapshot::open(p)->metadata().empty());
  store_le32(desc(b, k) + 4, SECTION_REQUIRED);
  fix_header_checksum(b);
  expect_refused(b, "unknown required section type 99");
}

Test(format, flipped_data_byte_fails_that_block_only) {
  auto b = test::load_file(good_path());
  auto s = Snapshot::open(good_path());
  IndexEntry e = s->entry(StreamId::DISK, 2);
  cr_assert(e.kind == BlockKind::DATA);
  b[e.offset + e.stored_len / 2] ^= 0x40;
  std::string p = test::scratch_dir() + "/data.st";
  test::save_file(p, b);
  auto bad = Snapshot::open(p);  // data damage is found when the block is read
  std::vector<unsigned char> buf(bad->block_size());
  try {
    bad->read_block(StreamId::DISK, 2, buf.data());
    cr_assert_fail("damaged block was read");
  } catch (const Error &err) {
    std::string m = err.what();
    cr_assert(m.find("disk stream, block 2") != std::string::npos, "message: %s", m.c_str());
    cr_assert(m.find(p) != std::string::npos, "message: %s", m.c_str());
    cr_assert_eq(err.err(), EIO);
  }
  bad->read_block(StreamId::DISK, 1, buf.data());  // other blocks still read
  bad->read_block(StreamId::DISK, 3, buf.data());
}

Test(format, header_encode_decode) {
  Header h;
  h.uuid = uuid_generate();
  h.block_size = 8192;
  h.created = 1234567;
  h.file_size = 100000;
  h.data_end = 50000;
  h.compat_flags = 4;
  h.sections.push_back({1, SECTION_REQUIRED, 60000, 1000, 42});
  unsigned char buf[HEADER_SIZE];
  encode_header(h, buf);
  Header d = decode_header(buf, 100000, "x");
  cr_assert(d.uuid == h.uuid);
  cr_assert_eq(d.block_size, 8192u);
  cr_assert_eq(d.created, 1234567u);
  cr_assert_eq(d.data_end, 50000u);
  cr_assert_eq(d.compat_flags, 4u);
  cr_assert_eq(d.sections.size(), 1u);
  cr_assert_eq(d.sections[0].offset, 60000u);
  cr_assert_eq(d.sections[0].checksum, 42u);
  // Field positions are fixed by the spec.
  cr_assert_eq(load_le32(buf + 48), 8192u);
  cr_assert_eq(load_le64(buf + 64), 100000u);
  cr_assert_eq(buf[0], 0x89);
}
