// Filesystem (and other content) detection by on-disk signature, in the
// spirit of blkid: only magic numbers are trusted, never heuristics.
#pragma once
#include <cstdint>
#include <string>

namespace hexz {
class Source;
}

namespace hexz::fs {

// The blkid-style type name of the content of [start, start + length) of
// DISK: "ext2", "ext3", "ext4", "vfat", "exfat", "ntfs", "hfsplus",
// "iso9660", "xfs", "btrfs", "LVM2_member", "swap", "crypto_LUKS", or ""
// when no signature is recognised.
std::string probe_filesystem(Source &disk, uint64_t start, uint64_t length);

// True for the types whose files hexz can resolve (ext* through libext2fs,
// the others through The Sleuth Kit).
bool is_ext(const std::string &type);
bool is_tsk(const std::string &type);

}  // namespace hexz::fs
