// make-collision IMAGE OFFSET LENGTH: rewrites the LENGTH bytes of IMAGE at
// OFFSET (LENGTH > 240) twice, into IMAGE.a and IMAGE.b, so that the two
// versions differ but have the same XXH3-64 (seed 0), the checksum that
// snapshots keep per block.  Only the tests use it: they prove that equal
// checksums in unrelated snapshots are compared byte for byte.
//
// Why a collision is cheap: for inputs over 240 bytes XXH3 adds, per 64-byte
// stripe and 8-byte lane, the lane's value v to the neighbouring
// accumulator and (k & 0xffffffff) * (k >> 32) to its own, where k = v ^ the
// secret's word for that stripe and lane.  A v whose low half equals the
// secret's low half makes that product zero whatever its high half.  Two
// such lanes in consecutive stripes (the same 1 KiB block, before any
// scrambling) then add only the sum of their high halves, so moving 1
// from one high half to the other keeps every accumulator, and the hash.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "checksum.h"

namespace {

uint64_t secret_word(size_t offset) {
  uint64_t w;
  std::memcpy(&w, XXH3_kSecret + offset, 8);
  return w;
}

// Lane 0 of stripe S (bytes 64*S .. 64*S+7) with the given high half.
void set_lane(unsigned char *p, unsigned stripe, uint32_t high) {
  // XXH3 uses the secret from byte 8*S for stripe S of the first block.
  uint64_t v = (uint64_t(high) << 32) | (secret_word(8 * stripe) & 0xffffffffu);
  std::memcpy(p + 64 * stripe, &v, 8);  // little-endian, as XXH3 reads it
}

bool write_file(const char *path, const std::vector<unsigned char> &data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(data.data()), std::streamsize(data.size()));
  return bool(out.flush());
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: make-collision IMAGE OFFSET LENGTH\n");
    return 2;
  }
  const char *image = argv[1];
  uint64_t offset = std::strtoull(argv[2], nullptr, 0);
  size_t length = std::strtoull(argv[3], nullptr, 0);
  std::ifstream in(image, std::ios::binary);
  std::vector<unsigned char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad() || length <= 240 || offset > data.size() || data.size() - offset < length) {
    std::fprintf(stderr, "make-collision: %s: cannot rewrite %zu bytes at %" PRIu64 "\n", image, length, offset);
    return 1;
  }
  std::vector<unsigned char> a = data, b = data;
  set_lane(a.data() + offset, 0, 1);
  set_lane(a.data() + offset, 1, 1);
  set_lane(b.data() + offset, 0, 2);
  set_lane(b.data() + offset, 1, 0);
  // Checked with the checksum snapshots use, so that the test fails if the
  // construction ever stops colliding.
  uint64_t ha = hexz::checksum(a.data() + offset, length), hb = hexz::checksum(b.data() + offset, length);
  if (ha != hb || std::memcmp(a.data() + offset, b.data() + offset, length) == 0) {
    std::fprintf(stderr, "make-collision: no collision (%016" PRIx64 " vs %016" PRIx64 ")\n", ha, hb);
    return 1;
  }
  std::string pa = std::string(image) + ".a", pb = std::string(image) + ".b";
  if (!write_file(pa.c_str(), a) || !write_file(pb.c_str(), b)) {
    std::fprintf(stderr, "make-collision: cannot write %s or %s\n", pa.c_str(), pb.c_str());
    return 1;
  }
  std::printf("%016" PRIx64 "\n", ha);
  return 0;
}
