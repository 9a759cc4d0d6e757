#include "overlay-file.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "error.h"
#include "overlay-lock.h"
#include "source.h"
#include "util.h"

namespace hexz_cow {

using hexz::Error;
using hexz::throw_errno;

OverlayFile::OverlayFile(const std::string &path) {
  if (path.empty()) {
    // /var/tmp: an overlay may grow as large as the disk, too large for a
    // tmpfs /tmp.
    std::string temp;
    fd_ = hexz::make_temp_file(hexz::temp_dir("/var/tmp"), "hexz-cow", temp);
    unlink(temp.c_str());
    name_ = "ephemeral overlay " + temp;
  } else {
    name_ = path;
    persistent_ = true;
    // Never blocks on a FIFO, never opens a device: a regular file only.
    try {
      fd_ = hexz::open_regular(path, O_RDWR | O_CREAT, "an overlay");
    } catch (const Error &e) {
      if (e.err() != EACCES && e.err() != EROFS && e.err() != EPERM) throw;
      fd_ = hexz::open_regular(path, O_RDONLY, "an overlay");
      writable_ = false;
    }
  }
  // A second descriptor for allocation scans (through /proc so that it works
  // for the unlinked ephemeral file too).
  scan_ = hexz::open_file_source("/proc/self/fd/" + std::to_string(fd_.get()));
}

OverlayFile::~OverlayFile() = default;

uint64_t OverlayFile::length() const {
  struct stat st;
  if (fstat(fd_.get(), &st) != 0) throw_errno(name_ + ": stat");
  return uint64_t(st.st_size);
}

void OverlayFile::read(void *buf, size_t len, uint64_t off) const {
  size_t n = hexz::pread_full(fd_.get(), buf, len, off_t(off), name_);
  if (n < len) memset(static_cast<char *>(buf) + n, 0, len - n);
}

void OverlayFile::write(const void *buf, size_t len, uint64_t off) {
  hexz::pwrite_full(fd_.get(), buf, len, off_t(off), name_);
}

void OverlayFile::punch(uint64_t off, uint64_t len) {
  if (len == 0) return;
  if (fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(off), off_t(len)) == 0) return;
  if (errno != EOPNOTSUPP && errno != ENOSYS) throw_errno(name_ + ": punching a hole");
  // No hole punching here: write zeroes, but never beyond the end of the
  // file, where the bytes read as zero already.
  uint64_t flen = length();
  if (off >= flen) return;
  if (off + len > flen) len = flen - off;
  static const std::vector<char> zeroes(1 << 20);
  while (len > 0) {
    size_t n = len < zeroes.size() ? size_t(len) : zeroes.size();
    write(zeroes.data(), n, off);
    off += n;
    len -= n;
  }
}

// The first sync also makes the overlay's directory entry durable: the
// file may have been created by this process, and .meta (whose own
// directory write_meta syncs) may live in another directory.
void OverlayFile::sync() {
  hexz::fsync_or_throw(fd_.get(), name_);
  if (persistent_ && !dir_synced_) {
    hexz::fsync_parent_dir(name_);
    dir_synced_ = true;
  }
}

void OverlayFile::allocation(uint64_t off, uint64_t len,
                             const std::function<void(uint64_t, uint64_t, bool)> &fn) {
  scan_->extents(off, len, fn);
}

void OverlayFile::lock() {
  if (persistent_) hexz::lock_overlay(fd_.get(), writable_, name_);
}

void OverlayFile::record_holder() {
  if (persistent_ && !hexz::record_overlay_holder(fd_.get(), writable_))
    throw_errno(name_ + ": recording the overlay's holder (fcntl F_SETLK)");
}

}  // namespace hexz_cow
