#include "partition.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "endian.h"
#include "source.h"

namespace hexz::fs {

std::string Partition::label() const { return number ? "partition " + std::to_string(number) : "whole disk"; }

namespace {

// CRC-32 (IEEE, reflected), as used by GPT headers and entry arrays.
uint32_t crc32(const unsigned char *p, size_t n) {
  static uint32_t table[256];
  static bool init = [] {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    return true;
  }();
  (void)init;
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string guid_string(const unsigned char *g) {
  char b[40];
  snprintf(b, sizeof b, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", load_le32(g), load_le16(g + 4),
           load_le16(g + 6), g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
  return b;
}

// GPT names are UTF-16LE; keep the ASCII subset and replace the rest.
std::string utf16_name(const unsigned char *p, size_t chars) {
  std::string s;
  for (size_t i = 0; i < chars; i++) {
    uint16_t c = load_le16(p + 2 * i);
    if (c == 0) break;
    s += c < 0x80 && c >= 0x20 ? char(c) : '?';
  }
  return s;
}

bool is_extended(uint8_t t) { return t == 0x05 || t == 0x0f || t == 0x85; }

std::string hex_type(uint8_t t) {
  char b[8];
  snprintf(b, sizeof b, "0x%02x", t);
  return b;
}

// Checks that [start, start+len) lies on the disk; records an error naming
// the partition otherwise.
bool check_bounds(PartitionTable &t, uint64_t disk_size, unsigned number, uint64_t start, uint64_t len) {
  std::string name = "partition " + std::to_string(number);
  if (len == 0) {
    t.errors.push_back(name + ": has zero length");
    return false;
  }
  if (start >= disk_size || len > disk_size - start) {
    t.errors.push_back(name + ": extends beyond the end of the disk (sectors " + std::to_string(start / SECTOR) + "-" +
                       std::to_string((start + len) / SECTOR - 1) + ", disk has " +
                       std::to_string(disk_size / SECTOR) + " sectors); ignored");
    return false;
  }
  return true;
}

// The extended partition's chain of EBRs: each holds one logical partition
// (relative to the EBR) and a link to the next EBR (relative to the start of
// the extended partition).
void read_logicals(Source &disk, PartitionTable &t, uint64_t ext_start, uint64_t ext_len) {
  unsigned number = 5;
  uint64_t ebr = ext_start;
  std::vector<uint64_t> seen;
  unsigned char s[SECTOR];
  for (;;) {
    if (std::find(seen.begin(), seen.end(), ebr) != seen.end() || seen.size() > 256) {
      t.errors.push_back("extended partition: the chain of logical partitions loops at sector " +
                         std::to_string(ebr / SECTOR) + "; stopped there");
      return;
    }
    seen.push_back(ebr);
    if (ebr + SECTOR > disk.size()) {
      t.errors.push_back("extended partition: EBR at sector " + std::to_string(ebr / SECTOR) + " is beyond the disk");
      return;
    }
    disk.pread(s, SECTOR, ebr);
    if (s[510] != 0x55 || s[511] != 0xaa) {
      t.errors.push_back("extended partition: EBR at sector " + std::to_string(ebr / SECTOR) +
                         " has no boot signature; logical partitions from " + std::to_string(number) + " on are lost");
      return;
    }
    t.table_areas.push_back({ebr, SECTOR});
    const unsigned char *e0 = s + 446, *e1 = s + 462;
    if (e0[4] != 0 && load_le32(e0 + 12) != 0) {
      Partition p;
      p.number = number;
      p.start = ebr + uint64_t(load_le32(e0 + 8)) * SECTOR;
      p.length = uint64_t(load_le32(e0 + 12)) * SECTOR;
      p.type = hex_type(e0[4]);
      if (p.start + p.length > ext_start + ext_len)
        t.errors.push_back(p.label() + ": extends beyond its extended partition; ignored");
      else if (check_bounds(t, disk.size(), number, p.start, p.length))
        t.partitions.push_back(p);
    }
    number++;
    if (e1[4] == 0 || !is_extended(e1[4])) return;
    ebr = ext_start + uint64_t(load_le32(e1 + 8)) * SECTOR;
  }
}

// UEFI 2.10 5.3.2: SizeOfPartitionEntry is 128 x 2^n; the entry array is
// kept to a few MiB (8192 entries of 128 bytes are 1 MiB) so that a header
// can never make us allocate or read more than that.
constexpr uint64_t MAX_ENTRY_ARRAY = 4 << 20;

bool read_gpt_at(Source &disk, PartitionTable &t, uint64_t lba, bool primary) {
  uint64_t size = disk.size(), sectors = size / SECTOR;
  if (lba >= sectors) return false;
  unsigned char h[SECTOR];
  disk.pread(h, SECTOR, lba * SECTOR);
  const std::string which = primary ? "primary GPT header" : "backup GPT header";
  if (memcmp(h, "EFI PART", 8) != 0) {
    t.errors.push_back(which + ": signature missing");
    return false;
  }
  uint32_t hsize = load_le32(h + 12);
  if (hsize < 92 || hsize > SECTOR) {
    t.errors.push_back(which + ": bad header size " + std::to_string(hsize));
    return false;
  }
  uint32_t want = load_le32(h + 16);
  unsigned char tmp[SECTOR];
  memcpy(tmp, h, hsize);
  memset(tmp + 16, 0, 4);
  if (crc32(tmp, hsize) != want) {
    t.errors.push_back(which + ": header checksum mismatch");
    return false;
  }
  uint64_t alt = load_le64(h + 32), first_usable = load_le64(h + 40), last_usable = load_le64(h + 48);
  uint64_t entries_lba = load_le64(h + 72);
  uint32_t count = load_le32(h + 80), esize = load_le32(h + 84), ecrc = load_le32(h + 88);
  // Every product below is bounded first: LBAs by the disk's sector count,
  // the array by MAX_ENTRY_ARRAY.
  bool esize_ok = esize >= 128 && esize <= MAX_ENTRY_ARRAY && esize % 128 == 0 && ((esize / 128) & (esize / 128 - 1)) == 0;
  if (!esize_ok) {
    t.errors.push_back(which + ": partition entry size " + std::to_string(esize) + " is not 128 x 2^n bytes");
    return false;
  }
  uint64_t array = uint64_t(count) * esize;
  if (array > MAX_ENTRY_ARRAY) {
    t.errors.push_back(which + ": partition entry array of " + std::to_string(count) + " entries of " +
                       std::to_string(esize) + " bytes is larger than " + std::to_string(MAX_ENTRY_ARRAY >> 20) + " MiB");
    return false;
  }
  if (entries_lba >= sectors || array > size - entries_lba * SECTOR) {
    t.errors.push_back(which + ": partition entry array at LBA " + std::to_string(entries_lba) +
                       " extends beyond the end of the disk");
    return false;
  }
  std::vector<unsigned char> e(static_cast<size_t>(array));
  if (!e.empty()) disk.pread(e.data(), e.size(), entries_lba * SECTOR);
  if (crc32(e.data(), e.size()) != ecrc) {
    t.errors.push_back(which + ": partition entry array checksum mismatch");
    return false;
  }
  t.scheme = "gpt";
  t.table_areas.push_back({0, SECTOR});  // protective MBR
  t.table_areas.push_back({lba * SECTOR, SECTOR});
  t.table_areas.push_back({entries_lba * SECTOR, (e.size() + SECTOR - 1) / SECTOR * SECTOR});
  // The other copy: header at alt, its entries just before it (backup) or
  // at LBA 2 (primary).
  if (alt && alt < sectors) {
    t.table_areas.push_back({alt * SECTOR, SECTOR});
    uint64_t other_entries = primary ? (last_usable < sectors ? last_usable + 1 : alt) : 2;
    if (other_entries < alt) t.table_areas.push_back({other_entries * SECTOR, (alt - other_entries) * SECTOR});
  }
  for (uint32_t i = 0; i < count; i++) {
    const unsigned char *p = e.data() + size_t(i) * esize;
    static const unsigned char zero[16] = {};
    if (memcmp(p, zero, 16) == 0) continue;
    uint64_t first = load_le64(p + 32), last = load_le64(p + 40);
    unsigned number = i + 1;
    std::string name = "partition " + std::to_string(number);
    if (last < first || first < first_usable || last > last_usable) {
      t.errors.push_back(name + ": LBA range " + std::to_string(first) + "-" + std::to_string(last) +
                         " is outside the usable area " + std::to_string(first_usable) + "-" +
                         std::to_string(last_usable) + "; ignored");
      continue;
    }
    if (last >= sectors) {
      t.errors.push_back(name + ": extends beyond the end of the disk (sectors " + std::to_string(first) + "-" +
                         std::to_string(last) + ", disk has " + std::to_string(sectors) + " sectors); ignored");
      continue;
    }
    Partition part;
    part.number = number;
    part.start = first * SECTOR;
    part.length = (last - first + 1) * SECTOR;
    part.type = guid_string(p);
    part.name = utf16_name(p + 56, (esize - 56) / 2 < 36 ? (esize - 56) / 2 : 36);
    if (check_bounds(t, size, number, part.start, part.length)) t.partitions.push_back(part);
  }
  return true;
}

}  // namespace

PartitionTable read_partition_table(Source &disk) {
  PartitionTable t;
  t.scheme = "none";
  uint64_t size = disk.size();
  if (size < SECTOR) return t;
  unsigned char s[SECTOR];
  disk.pread(s, SECTOR, 0);
  if (s[510] != 0x55 || s[511] != 0xaa) return t;

  // A boot sector of a bare FAT/NTFS filesystem also ends in 55 AA: its
  // "partition entries" are code.  Only accept entries whose status byte is
  // 0x00 or 0x80, and treat a sector that names a filesystem as one.
  if (memcmp(s + 3, "NTFS    ", 8) == 0 || memcmp(s + 3, "EXFAT   ", 8) == 0 || memcmp(s + 54, "FAT", 3) == 0 ||
      memcmp(s + 82, "FAT32   ", 8) == 0)
    return t;
  bool protective = false, any = false;
  for (int i = 0; i < 4; i++) {
    const unsigned char *e = s + 446 + 16 * i;
    if (e[0] != 0 && e[0] != 0x80) return t;  // not a partition table
    if (e[4] == 0xee) protective = true;
    if (e[4] != 0) any = true;
  }
  if (!any) return t;

  if (protective) {
    if (read_gpt_at(disk, t, 1, true)) goto done;
    // Primary damaged: the backup lives in the last sector.
    if (read_gpt_at(disk, t, size / SECTOR - 1, false)) {
      t.errors.push_back("GPT: primary header damaged, partitions read from the backup header");
      goto done;
    }
    t.scheme = "gpt";
    t.table_areas.push_back({0, SECTOR});
    t.errors.push_back("GPT: both headers are damaged; no partition can be read");
    return t;
  }

  t.scheme = "mbr";
  t.table_areas.push_back({0, SECTOR});
  for (int i = 0; i < 4; i++) {
    const unsigned char *e = s + 446 + 16 * i;
    if (e[4] == 0) continue;
    uint64_t start = uint64_t(load_le32(e + 8)) * SECTOR, len = uint64_t(load_le32(e + 12)) * SECTOR;
    unsigned number = unsigned(i + 1);
    if (!check_bounds(t, size, number, start, len)) continue;
    if (is_extended(e[4])) {
      read_logicals(disk, t, start, len);
      continue;
    }
    Partition p;
    p.number = number;
    p.start = start;
    p.length = len;
    p.type = hex_type(e[4]);
    t.partitions.push_back(p);
  }

done:
  std::sort(t.partitions.begin(), t.partitions.end(),
            [](const Partition &a, const Partition &b) { return a.start < b.start; });
  // Overlapping partitions: keep the first, report the others.
  std::vector<Partition> kept;
  for (auto &p : t.partitions) {
    if (!kept.empty() && p.start < kept.back().start + kept.back().length) {
      t.errors.push_back(p.label() + ": overlaps " + kept.back().label() + "; ignored");
      continue;
    }
    kept.push_back(p);
  }
  t.partitions = std::move(kept);
  return t;
}

}  // namespace hexz::fs
