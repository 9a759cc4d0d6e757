// File level of hexz-diff's image mode: "hexz-diff --files -b BASE MODIFIED"
// lists the files that differ between the filesystems of two disks, in
// virt-diff's format, reading both disks in-process through the
// partition/filesystem layer (common/fs).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "image-diff-input.h"

namespace hexz {

struct FileDiffOptions {
  bool times = false, uids = false, xattrs = false;
  bool dir_links = false, dir_times = false;
  bool csv = false, json = false;
  std::string checksum;  // "", "md5" or "sha256"
  // [first, end) ranges of 4 KiB disk blocks known to be equal on both
  // sides (index-diff.h): a file whose data lies at the same place on both
  // sides, all of it in these ranges, is not read to compare its contents.
  std::vector<std::pair<uint64_t, uint64_t>> known_equal;
  unsigned parser_timeout = 600;  // seconds a sandboxed parser worker may take (fs/sandbox.h)
};

// Prints the differences on stdout; returns the exit code.
int files_diff(ImageInput &base, ImageInput &modified, const FileDiffOptions &o);

}  // namespace hexz
