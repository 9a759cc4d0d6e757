// A malformed-input loop: thousands of randomly damaged snapshots (byte
// flips, truncations, random runs, hostile lengths).  Opening and reading
// each must either fail with hexz::Error or return exactly the original
// bytes: never a crash, never wrong data.  Run it under the sanitizer build
// too (./configure --enable-sanitizers).

#include <criterion/criterion.h>
#include <fstream>
#include <iterator>

#include "error.h"
#include "unit-helpers.h"

using namespace hexz;

static std::vector<unsigned char> load(const std::string &p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(f), {});
}

Test(fuzz, damaged_files_never_give_wrong_data, .timeout = 240) {
  std::string good = test::scratch_dir() + "/fuzz-good.st";
  auto disk = test::text_bytes(6 * 4096 + 33, 4);
  auto rnd = test::random_bytes(3 * 4096, 5);
  disk.insert(disk.end(), rnd.begin(), rnd.end());
  disk.insert(disk.end(), 3 * 4096, 0);
  auto mem = test::text_bytes(5000, 6);
  WriterOptions wo;
  wo.block_size = 4096;
  wo.metadata = {{"message", "fuzz"}};
  for (Method m : {Method::ZSTD, Method::LZ4}) {
    wo.method = m;
    test::pack(good, disk, &mem, wo);
    const auto orig = load(good);
    std::mt19937 rng(m == Method::ZSTD ? 1 : 2);
    std::string p = test::scratch_dir() + "/fuzz.st";
    unsigned opened = 0, refused = 0, read_errors = 0;
    for (int iter = 0; iter < 2500; iter++) {
      auto b = orig;
      switch (rng() % 5) {
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
        std::vector<unsigned char> buf(s->block_size());
        for (uint64_t i = 0; i < s->block_count(id); i++) {
          try {
            s->read_block(id, i, buf.data());
          } catch (const Error &) {
            read_errors++;
            continue;
          }
          uint32_t len = block_length(want.size(), s->block_size(), i);
          cr_assert(std::equal(buf.begin(), buf.begin() + len, want.begin() + i * s->block_size()),
                    "iteration %d: block %llu read without error but with wrong bytes", iter, (unsigned long long)i);
        }
      }
    }
    cr_log_info("%s: %u opened, %u refused, %u read errors", method_name(m), opened, refused, read_errors);
    cr_assert(refused > 0 && opened > 0 && read_errors > 0, "the loop did not exercise all outcomes");
  }
}
