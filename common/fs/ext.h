// Opening an ext2/3/4 filesystem that lives in a partition of any Source
// (a libnbd handle to nbdkit, a raw file) with libext2fs, read-only, through
// the layer's io_manager and its 64 KiB chunk cache.  map_disk uses it to
// build extent maps; callers that need more of libext2fs (reading a file's
// contents with ext2fs_file_read, comparing inodes) open the same way.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ext2fs/ext2fs.h>

namespace hexz {
class Source;
}

namespace hexz::fs {

class ExtFs {
 public:
  // Opens [start, start + length) of DISK.  Throws Error with libext2fs's
  // message ("cannot open the ext4 filesystem: The ext2 superblock is
  // corrupt") on failure.  DISK must outlive the ExtFs.
  ExtFs(Source &disk, uint64_t start, uint64_t length);
  ~ExtFs();
  ExtFs(const ExtFs &) = delete;
  ExtFs &operator=(const ExtFs &) = delete;

  ext2_filsys get() const { return fs_; }
  // The first read of the disk that failed, or "": libext2fs passes over
  // some unreadable blocks, so callers check this before trusting a result.
  const std::string &io_error() const;
  // Read-ahead hint: partition byte ranges (offset, length) about to be read
  // in ascending order (see ChunkCache::plan).
  void plan_reads(const std::vector<std::pair<uint64_t, uint64_t>> &ranges);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ext2_filsys fs_ = nullptr;
};

}  // namespace hexz::fs
