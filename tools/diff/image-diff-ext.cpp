#include "image-diff-ext.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "error.h"
#include "fs/ext.h"

namespace hexz {

// The filesystem is opened through common/fs (its io_manager and chunk cache
// serve libext2fs's block-sized reads from large NBD reads).
struct ExtFiles::Impl {
  std::unique_ptr<fs::ExtFs> ext;
  std::string what;
  ext2_filsys fs() const { return ext->get(); }
};

namespace {

class ExtReader : public ContentReader {
 public:
  ExtReader(ext2_file_t f, const std::string &what) : f_(f), what_(what) {}
  ~ExtReader() override { ext2fs_file_close(f_); }
  size_t read(void *buf, size_t len) override {
    unsigned got = 0;
    errcode_t e = ext2fs_file_read(f_, buf, unsigned(std::min<size_t>(len, 1u << 30)), &got);
    if (e) throw Error(what_ + ": " + error_message(e), EIO);
    return got;
  }

 private:
  ext2_file_t f_;
  std::string what_;
};

}  // namespace

ExtFiles::ExtFiles(Source &disk, uint64_t start, uint64_t length, const std::string &what)
    : impl_(std::make_unique<Impl>()) {
  impl_->what = what;
  try {
    impl_->ext = std::make_unique<fs::ExtFs>(disk, start, length);
  } catch (const Error &e) {
    throw Error(what + ": " + e.what(), e.err());
  }
}

ExtFiles::~ExtFiles() = default;

std::unique_ptr<ContentReader> ExtFiles::open(uint64_t inode) {
  ext2_file_t f;
  const std::string w = impl_->what + ": inode " + std::to_string(inode);
  errcode_t e = ext2fs_file_open(impl_->fs(), ext2_ino_t(inode), 0, &f);
  if (e) throw Error(w + ": " + error_message(e), EIO);
  return std::make_unique<ExtReader>(f, w);
}

std::vector<std::pair<std::string, std::string>> ExtFiles::xattrs(uint64_t inode) {
  std::vector<std::pair<std::string, std::string>> v;
  struct ext2_xattr_handle *h = nullptr;
  if (ext2fs_xattrs_open(impl_->fs(), ext2_ino_t(inode), &h)) return v;  // no xattr support in this fs
  errcode_t e = ext2fs_xattrs_read(h);
  if (!e) {
    auto cb = [](char *name, char *value, size_t len, void *data) -> int {
      static_cast<decltype(v) *>(data)->emplace_back(name, std::string(value, len));
      return 0;
    };
    ext2fs_xattrs_iterate(h, cb, &v);
  }
  ext2fs_xattrs_close(&h);
  if (e) throw Error(impl_->what + ": inode " + std::to_string(inode) + ": extended attributes: " + error_message(e), EIO);
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace hexz
