// libFuzzer harness: the filesystem backends (probe, then libext2fs or The
// Sleuth Kit, hexz's ISO 9660 and FAT code) on a whole-disk filesystem.
// FUZZ_FS_TYPE (built as fuzz-ext and fuzz-tsk) restricts it to one backend
// by skipping inputs the probe gives to the other.
#include "fs/fsmap.h"
#include "fs/probe.h"
#include "mem-source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hexz::MemSource disk(data, size);
  hexz::fs::Partition whole;
  whole.length = size;
  std::string type;
  try {
    type = hexz::fs::probe_filesystem(disk, 0, size);
  } catch (const hexz::Error &) {
    return 0;
  }
  if (FUZZ_FS_EXT ? !hexz::fs::is_ext(type) : !hexz::fs::is_tsk(type)) return 0;
  hexz::fs::map_partition(disk, whole);  // must not throw: damage is a status
  return 0;
}
