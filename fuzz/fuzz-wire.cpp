// libFuzzer harness: hexz-diff's decoders of what a sandboxed parser worker
// sends (fs/wire.h) must reject, never trust, whatever a subverted worker
// could write.  The first byte picks the decoder.
#include "fs/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  std::string bytes(reinterpret_cast<const char *>(data) + 1, size - 1);
  hexz::fs::Partition part;
  part.number = 1;
  part.start = 1 << 20;
  part.length = 1 << 30;
  try {
    switch (data[0] % 3) {
      case 0: hexz::fs::decode_table(bytes, uint64_t(1) << 40); break;
      case 1: hexz::fs::decode_fsmap(bytes, part); break;
      default: hexz::fs::decode_xattrs(bytes);
    }
  } catch (const hexz::fs::WireError &) {
  }
  return 0;
}
