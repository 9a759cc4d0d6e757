// Partition tables: MBR (with the extended/logical chain) and GPT.  A disk
// with neither is one "whole disk" partition.  Damage is reported per table
// or per partition in `errors`; whatever is still sound is returned, so one
// bad entry never hides the rest of the disk.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hexz {
class Source;
}

namespace hexz::fs {

inline constexpr uint32_t SECTOR = 512;

struct Partition {
  unsigned number = 0;  // Linux numbering: 1-4 primary/GPT, 5... logical; 0 = whole disk
  uint64_t start = 0;   // bytes from the start of the disk
  uint64_t length = 0;  // bytes
  std::string type;     // MBR: "0x83"; GPT: type GUID; whole disk: ""
  std::string name;     // GPT partition name, if any
  // "partition 3" or "whole disk".
  std::string label() const;
};

struct PartitionTable {
  std::string scheme;  // "mbr", "gpt" or "none"
  std::vector<Partition> partitions;  // sorted by start
  // Byte ranges holding the tables themselves (MBR, EBRs, GPT headers and
  // entry arrays, both copies), for accounting blocks outside partitions.
  std::vector<std::pair<uint64_t, uint64_t>> table_areas;  // (start, length)
  std::vector<std::string> errors;  // "partition 2: extends beyond the end of the disk (...)"
};

// Reads the partition table of DISK (sector size 512).  Never throws for a
// malformed table (it lands in errors); throws Error only on read failure.
PartitionTable read_partition_table(Source &disk);

}  // namespace hexz::fs
