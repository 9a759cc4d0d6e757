// File level of hexz-diff's image mode: "hexz-diff --files -b BASE MODIFIED"
// lists the files that differ between the filesystems of two disks, in
// virt-diff's format, reading both disks in-process through the
// partition/filesystem layer (common/fs).
#pragma once
#include <string>

#include "image-diff-input.h"

namespace hexz {

struct FileDiffOptions {
  bool times = false, uids = false, xattrs = false;
  bool dir_links = false, dir_times = false;
  bool csv = false, json = false;
  std::string checksum;  // "", "md5" or "sha256"
};

// Prints the differences on stdout; returns the exit code.
int files_diff(ImageInput &base, ImageInput &modified, const FileDiffOptions &o);

}  // namespace hexz
