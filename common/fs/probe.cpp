#include "probe.h"

#include <cstring>
#include <vector>

#include "endian.h"
#include "source.h"

namespace hexz::fs {

namespace {

// Reads LEN bytes at OFF within the partition; false if they lie beyond it.
bool get(Source &disk, uint64_t start, uint64_t length, uint64_t off, size_t len, unsigned char *buf) {
  if (off + len > length || start + off + len > disk.size()) return false;
  disk.pread(buf, len, start + off);
  return true;
}

}  // namespace

std::string probe_filesystem(Source &disk, uint64_t start, uint64_t length) {
  unsigned char b[4096];

  // Checks that only need the first 4 KiB.
  if (get(disk, start, length, 0, 4096, b)) {
    if (memcmp(b + 3, "NTFS    ", 8) == 0) return "ntfs";
    if (memcmp(b + 3, "EXFAT   ", 8) == 0) return "exfat";
    if (memcmp(b, "XFSB", 4) == 0) return "xfs";
    if (memcmp(b, "LUKS\xba\xbe", 6) == 0) return "crypto_LUKS";
    for (int s = 0; s < 4; s++)
      if (memcmp(b + 512 * s, "LABELONE", 8) == 0 && memcmp(b + 512 * s + 24, "LVM2 001", 8) == 0)
        return "LVM2_member";
    if (memcmp(b + 4096 - 10, "SWAPSPACE2", 10) == 0 || memcmp(b + 4096 - 10, "SWAP-SPACE", 10) == 0) return "swap";
    // ext2/3/4: superblock at 1024, magic at 56.
    if (load_le16(b + 1024 + 56) == 0xEF53) {
      const unsigned char *sb = b + 1024;
      uint32_t compat = load_le32(sb + 92), incompat = load_le32(sb + 96), ro_compat = load_le32(sb + 100);
      // ext4-only features: extents, 64bit, flex_bg, mmp, inline data...;
      // huge_file, gdt_csum, dir_nlink, extra_isize, metadata_csum.
      if ((incompat & ~0x7u & ~0x10u) || (ro_compat & ~0x7u)) return "ext4";
      if (compat & 0x4) return "ext3";
      return "ext2";
    }
    if (memcmp(b + 1024, "H+", 2) == 0 || memcmp(b + 1024, "HX", 2) == 0) return "hfsplus";
    // FAT: boot signature, a sane BPB and the type string.
    if (b[510] == 0x55 && b[511] == 0xaa) {
      uint16_t bps = load_le16(b + 11);
      bool bps_ok = bps == 512 || bps == 1024 || bps == 2048 || bps == 4096;
      if (bps_ok && b[13] != 0 && (memcmp(b + 54, "FAT1", 4) == 0 || memcmp(b + 82, "FAT32   ", 8) == 0 ||
                                   memcmp(b + 54, "FAT     ", 8) == 0))
        return "vfat";
    }
  }
  if (get(disk, start, length, 32769, 5, b) && memcmp(b, "CD001", 5) == 0) return "iso9660";
  if (get(disk, start, length, 65536 + 64, 8, b) && memcmp(b, "_BHRfS_M", 8) == 0) return "btrfs";
  return "";
}

bool is_ext(const std::string &t) { return t == "ext2" || t == "ext3" || t == "ext4"; }
bool is_tsk(const std::string &t) {
  return t == "vfat" || t == "exfat" || t == "ntfs" || t == "hfsplus" || t == "iso9660";
}

}  // namespace hexz::fs
