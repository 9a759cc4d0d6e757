// libFuzzer harness: opening and reading a .st snapshot, and the overlay
// side files (.meta, .base), from the fuzzer's bytes (written to a memfd,
// since the readers take paths).  The first byte picks the reader.
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "overlay-meta.h"
#include "snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int fd = memfd_create("fuzz", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (write(fd, data + 1, size - 1) != ssize_t(size - 1)) {
    close(fd);
    return 0;
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    switch (data[0] % 3) {
      case 0: {
        auto s = hexz::Snapshot::open(path);
        if (s->has_stream(hexz::StreamId::DISK)) {
          std::vector<unsigned char> buf(65536);
          uint64_t n = s->stream_size(hexz::StreamId::DISK);
          for (uint64_t off = 0; off < n && off < (uint64_t(8) << 20); off += buf.size())
            s->read(hexz::StreamId::DISK, off, buf.size(), buf.data());
        }
        break;
      }
      case 1: hexz::read_meta(path, uint64_t(1) << 20, true); break;
      case 2: hexz::read_base_record(path); break;
    }
  } catch (const hexz::Error &) {
  }
  close(fd);
  return 0;
}
