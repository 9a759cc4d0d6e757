// A malformed-input loop: thousands of randomly damaged snapshots (byte
// flips, truncations, random runs, hostile lengths, and page table entries
// and index pages rewritten with valid checksums, as a hostile file would).  Opening and reading
// each must either fail with hexz::Error or return exactly the original
// bytes: never a crash, never wrong data.  Run it under the sanitizer build
// too (./configure --enable-sanitizers).

#include <criterion/criterion.h>
#include <fstream>
#include <iterator>

#include "checksum.h"
#include "codec.h"
#include "endian.h"
#include "error.h"
#include "unit-helpers.h"

using namespace hexz;

// Recomputes the checksums of every section and of the header, so that a
// mutation in a section survives them.
static void fix_checksums(std::vector<unsigned char> &b) {
  if (b.size() < 4096) return;
  uint32_t n = std::min<uint32_t>(load_le32(&b[52]), 13);
  for (unsigned k = 0; k < n; k++) {
    unsigned char *d = &b[80 + 32 * k];
    uint64_t off = load_le64(d + 8), len = load_le64(d + 16);
    if (off <= b.size() && len <= b.size() - off) store_le64(d + 24, checksum(&b[off], len));
  }
  store_le64(&b[504], checksum(b.data(), 504));
}

// The page table entries of every stream section: (offset of the entry).
static std::vector<size_t> page_refs(const std::vector<unsigned char> &b) {
  std::vector<size_t> refs;
  for (unsigned k = 0, n = load_le32(&b[52]); k < n; k++) {
    const unsigned char *d = &b[80 + 32 * k];
    if (load_le32(d) != 1) continue;
    uint64_t off = load_le64(d + 8), pages = load_le64(&b[off + 24]);
    for (uint64_t p = 0; p < pages; p++) refs.push_back(off + 32 + 24 * p);
  }
  return refs;
}

Test(fuzz, damaged_files_never_give_wrong_data, .timeout = 240) {
  std::string good = test::scratch_dir() + "/fuzz-good.st";
  // 4 KiB blocks in pages of 64 entries: page 0 text, random and zero
  // blocks; page 1 all zero (no bytes); pages 2 and 3 (short) text.
  auto disk = test::text_bytes(6 * 4096 + 33, 4);
  auto rnd = test::random_bytes(3 * 4096, 5);
  disk.insert(disk.end(), rnd.begin(), rnd.end());
  disk.insert(disk.end(), 130 * 4096 - disk.size(), 0);
  auto tail = test::text_bytes(81 * 4096 + 700, 7);
  disk.insert(disk.end(), tail.begin(), tail.end());
  auto mem = test::text_bytes(5000, 6);
  WriterOptions wo;
  wo.block_size = 4096;
  wo.page_shift = 6;
  wo.metadata = {{"message", "fuzz"}};
  for (Method m : {Method::ZSTD, Method::LZ4}) {
    wo.method = m;
    // RAW pages with LZ4 blocks, so that entries can be rewritten in place.
    wo.page_method = m == Method::ZSTD ? Method::ZSTD : Method::RAW;
    test::pack(good, disk, &mem, wo);
    const auto orig = test::load_file(good);
    std::mt19937 rng(m == Method::ZSTD ? 1 : 2);
    std::string p = test::scratch_dir() + "/fuzz.st";
    const auto refs = page_refs(orig);
    cr_assert_geq(refs.size(), 5u);
    unsigned opened = 0, refused = 0, read_errors = 0;
    for (int iter = 0; iter < 2500; iter++) {
      auto b = orig;
      const unsigned mutation = rng() % 7;
      const bool hostile = mutation == 5 || mutation == 6;
      switch (mutation) {
        case 0:  // flip a few bits anywhere
          for (int k = 0, n = 1 + int(rng() % 4); k < n; k++) b[rng() % b.size()] ^= uint8_t(1u << (rng() % 8));
          break;
        case 1:  // truncate
          b.resize(rng() % b.size());
          break;
        case 2: {  // a run of random bytes
          size_t off = rng() % b.size(), n = std::min<size_t>(b.size() - off, 1 + rng() % 64);
          for (size_t k = 0; k < n; k++) b[off + k] = uint8_t(rng());
          break;
        }
        case 3: {  // flip bits in the data area only (found at read time)
          size_t off = 4096 + rng() % (b.size() - 4096);
          b[off] ^= uint8_t(1u << (rng() % 8));
          break;
        }
        case 5: {  // a page table entry field rewritten, checksums fixed
          size_t r = refs[rng() % refs.size()];
          static const size_t fields[] = {0, 4, 8, 12, 13, 16};
          size_t f = fields[rng() % 6];
          uint64_t v = rng() % 3 ? uint64_t(rng() % (b.size() + 100)) : uint64_t(rng());
          if (f == 12 || f == 13) b[r + f] = uint8_t(rng() % 4);
          else if (f == 8) store_le32(&b[r + f], uint32_t(v));
          else store_le64(&b[r + f], v);
          fix_checksums(b);
          break;
        }
        case 6: {  // bytes of a stored index page changed, all checksums fixed
          size_t r = refs[rng() % refs.size()];
          if (b[r + 12] != 1) break;
          uint64_t off = load_le64(&b[r]), len = load_le32(&b[r + 8]);
          for (int k = 0, n = 1 + int(rng() % 3); k < n; k++) b[off + rng() % len] = uint8_t(rng());
          store_le64(&b[r + 16], checksum(&b[off], len));
          fix_checksums(b);
          break;
        }
        default: {  // random garbage with a valid magic
          b.assign(4096 + rng() % 8192, 0);
          for (auto &x : b) x = uint8_t(rng());
          std::copy(std::begin(MAGIC), std::end(MAGIC), b.begin());
        }
      }
      {
        std::ofstream f(p, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char *>(b.data()), std::streamsize(b.size()));
      }
      std::shared_ptr<const Snapshot> s;
      try {
        s = Snapshot::open(p);
      } catch (const Error &) {
        refused++;
        continue;
      }
      opened++;
      for (StreamId id : {StreamId::DISK, StreamId::MEMORY}) {
        const auto &want = id == StreamId::DISK ? disk : mem;
        if (!s->has_stream(id)) continue;
        cr_assert_eq(s->stream_size(id), want.size(), "opened file reports a wrong size");
        for (uint64_t p = 0; p < s->page_count(id); p++) {
          try {
            cr_assert_eq(s->read_page(id, p).size(), s->page_length(id, p));
          } catch (const Error &) {
            read_errors++;
          }
        }
        try {
          uint64_t pos = 0;
          s->extents(id, 0, want.size(), [&](uint64_t o, uint64_t l, bool) {
            cr_assert_eq(o, pos, "extents are not consecutive");
            pos += l;
          });
          cr_assert_eq(pos, want.size());
        } catch (const Error &) {
          read_errors++;
        }
        std::vector<unsigned char> buf(s->block_size());
        for (uint64_t i = 0; i < s->block_count(id); i++) {
          try {
            s->read_block(id, i, buf.data());
          } catch (const Error &) {
            read_errors++;
            continue;
          }
          uint32_t len = block_length(want.size(), s->block_size(), i);
          // A rewrite with valid checksums may mark a block or a page ZERO
          // (that is a different, valid snapshot); anything else it does
          // is caught by the checks.
          bool same = std::equal(buf.begin(), buf.begin() + len, want.begin() + i * s->block_size());
          cr_assert(same || (hostile && is_zero(buf.data(), len)),
                    "iteration %d: block %llu read without error but with wrong bytes", iter, (unsigned long long)i);
        }
      }
    }
    cr_log_info("%s: %u opened, %u refused, %u read errors", method_name(m), opened, refused, read_errors);
    cr_assert(refused > 0 && opened > 0 && read_errors > 0, "the loop did not exercise all outcomes");
  }
}
