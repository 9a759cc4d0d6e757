// File contents and extended attributes of an ext2/3/4 filesystem inside a
// partition of a Source, through libext2fs, for "hexz-diff --files -b".
// (common/fs maps where every file lies; this reads what a file holds, in
// file order, which only the filesystem itself knows.)
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "source.h"

namespace hexz {

// A pull-style reader of one file's bytes.
class ContentReader {
 public:
  virtual ~ContentReader() = default;
  // Up to LEN bytes; 0 at the end of the file.  Throws Error on damage.
  virtual size_t read(void *buf, size_t len) = 0;
};

class ExtFiles {
 public:
  // Throws Error naming WHAT if the filesystem cannot be opened.
  ExtFiles(Source &disk, uint64_t start, uint64_t length, const std::string &what);
  ~ExtFiles();
  ExtFiles(const ExtFiles &) = delete;
  ExtFiles &operator=(const ExtFiles &) = delete;

  std::unique_ptr<ContentReader> open(uint64_t inode);
  // name -> value, sorted by name ("user.foo", "security.selinux", ...).
  std::vector<std::pair<std::string, std::string>> xattrs(uint64_t inode);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace hexz
