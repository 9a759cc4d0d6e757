#include "source.h"

#include <cerrno>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "unique-fd.h"
#include "util.h"

namespace hexz {

void Source::extents(uint64_t off, uint64_t len, const std::function<void(uint64_t, uint64_t, bool)> &fn) {
  if (len) fn(off, len, false);
}

namespace {

class FileSource : public Source {
 public:
  explicit FileSource(const std::string &path) : name_(path) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused
    // below); reads of files and block devices ignore the flag.
    fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd_) throw_errno(path);
    struct stat st;
    if (fstat(fd_.get(), &st) != 0) throw_errno(path + ": stat");
    if (S_ISBLK(st.st_mode)) {
      if (ioctl(fd_.get(), BLKGETSIZE64, &size_) != 0) throw_errno(path + ": BLKGETSIZE64");
    } else if (S_ISREG(st.st_mode)) {
      size_ = uint64_t(st.st_size);
    } else {
      throw Error(path + ": not a regular file or block device", EINVAL);
    }
  }
  const std::string &name() const override { return name_; }
  uint64_t size() const override { return size_; }
  void pread(void *buf, size_t len, uint64_t off) override {
    size_t n = pread_full(fd_.get(), buf, len, off_t(off), name_);
    if (n != len) throw Error(name_ + ": unexpected end of file at offset " + std::to_string(off + n), EIO);
  }
  void extents(uint64_t off, uint64_t len, const std::function<void(uint64_t, uint64_t, bool)> &fn) override {
    uint64_t end = off + len;
    while (off < end) {
      off_t data = lseek(fd_.get(), off_t(off), SEEK_DATA);
      if (data < 0) {
        if (errno == ENXIO) {  // only a hole remains
          fn(off, end - off, true);
          return;
        }
        fn(off, end - off, false);  // SEEK_DATA unsupported: all data
        return;
      }
      if (uint64_t(data) > off) {
        uint64_t h = std::min<uint64_t>(uint64_t(data), end);
        fn(off, h - off, true);
        off = h;
        if (off >= end) return;
      }
      off_t hole = lseek(fd_.get(), off_t(off), SEEK_HOLE);
      uint64_t d_end = hole < 0 ? end : std::min<uint64_t>(uint64_t(hole), end);
      if (d_end <= off) d_end = end;
      fn(off, d_end - off, false);
      off = d_end;
    }
  }

 private:
  std::string name_;
  UniqueFd fd_;
  uint64_t size_ = 0;
};

}  // namespace

std::unique_ptr<Source> open_file_source(const std::string &path) { return std::make_unique<FileSource>(path); }

}  // namespace hexz
