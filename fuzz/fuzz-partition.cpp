// libFuzzer harness: partition tables (MBR, logical chains, GPT) must never
// crash, hang or throw anything but a read error on any disk.
#include "fs/partition.h"
#include "mem-source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hexz::MemSource disk(data, size);
  try {
    hexz::fs::read_partition_table(disk);
  } catch (const hexz::Error &) {
  }
  return 0;
}
