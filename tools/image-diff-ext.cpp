#include "image-diff-ext.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include <mutex>

#include "error.h"

namespace hexz {

struct ExtFiles::Impl {
  Source &disk;
  uint64_t start, length;
  std::string what;
  ext2_filsys fs = nullptr;
  // libext2fs reads a file one filesystem block at a time: over NBD each
  // would be a round trip, so reads are served from a 1 MiB window.
  static constexpr uint64_t WINDOW = 1 << 20;
  std::vector<unsigned char> win;
  uint64_t win_off = UINT64_MAX;

  Impl(Source &d, uint64_t s, uint64_t l, const std::string &w) : disk(d), start(s), length(l), what(w) {}

  // Bytes [off, off + len) of the partition; false beyond its end.
  bool read(uint64_t off, size_t len, void *buf) {
    if (off + len > length) return false;
    auto *out = static_cast<unsigned char *>(buf);
    while (len > 0) {
      if (win_off == UINT64_MAX || off < win_off || off >= win_off + win.size()) {
        win_off = off / WINDOW * WINDOW;
        uint64_t end = std::min(win_off + WINDOW, length);
        win.resize(size_t(end - win_off));
        disk.pread(win.data(), win.size(), start + win_off);
      }
      size_t n = size_t(std::min<uint64_t>(len, win_off + win.size() - off));
      memcpy(out, win.data() + (off - win_off), n);
      out += n;
      off += n;
      len -= n;
    }
    return true;
  }
};

namespace {

// ---- a read-only io_manager over ExtFiles::Impl --------------------------------

errcode_t io_open(const char *name, int flags, io_channel *out);
errcode_t io_close(io_channel ch) {
  if (--ch->refcount > 0) return 0;
  free(ch->name);
  free(ch);
  return 0;
}
errcode_t io_set_blksize(io_channel ch, int blksize) {
  ch->block_size = blksize;
  return 0;
}
errcode_t io_read64(io_channel ch, unsigned long long block, int count, void *data) {
  auto *impl = static_cast<ExtFiles::Impl *>(ch->private_data);
  uint64_t len = count < 0 ? uint64_t(-count) : uint64_t(count) * uint64_t(ch->block_size);
  try {
    if (impl->read(block * uint64_t(ch->block_size), size_t(len), data)) return 0;
  } catch (const std::exception &) {
  }
  memset(data, 0, len);
  return EXT2_ET_SHORT_READ;
}
errcode_t io_read(io_channel ch, unsigned long block, int count, void *data) { return io_read64(ch, block, count, data); }
errcode_t io_write64(io_channel, unsigned long long, int, const void *) { return EXT2_ET_RO_FILSYS; }
errcode_t io_write(io_channel, unsigned long, int, const void *) { return EXT2_ET_RO_FILSYS; }
errcode_t io_write_byte(io_channel, unsigned long, int, const void *) { return EXT2_ET_RO_FILSYS; }
errcode_t io_flush(io_channel) { return 0; }
errcode_t io_set_option(io_channel, const char *, const char *) { return EXT2_ET_INVALID_ARGUMENT; }

struct struct_io_manager make_manager() {
  struct struct_io_manager m {};
  m.magic = EXT2_ET_MAGIC_IO_MANAGER;
  m.name = "hexz-diff I/O manager";
  m.open = io_open;
  m.close = io_close;
  m.set_blksize = io_set_blksize;
  m.read_blk = io_read;
  m.write_blk = io_write;
  m.flush = io_flush;
  m.write_byte = io_write_byte;
  m.set_option = io_set_option;
  m.read_blk64 = io_read64;
  m.write_blk64 = io_write64;
  return m;
}
struct struct_io_manager manager = make_manager();

// libext2fs opens channels by name: the name carries the Impl's address.
errcode_t io_open(const char *name, int flags, io_channel *out) {
  if (flags & IO_FLAG_RW) return EXT2_ET_RO_FILSYS;
  void *p = nullptr;
  if (sscanf(name, "hexz-diff:%p", &p) != 1 || !p) return EXT2_ET_BAD_DEVICE_NAME;
  auto *ch = static_cast<io_channel>(calloc(1, sizeof(struct struct_io_channel)));
  if (!ch) return EXT2_ET_NO_MEMORY;
  ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
  ch->manager = &manager;
  ch->name = strdup(name);
  ch->block_size = 1024;
  ch->refcount = 1;
  ch->private_data = p;
  *out = ch;
  return 0;
}

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
    : impl_(std::make_unique<Impl>(disk, start, length, what)) {
  static std::once_flag once;
  std::call_once(once, [] { initialize_ext2_error_table(); });
  char name[64];
  snprintf(name, sizeof name, "hexz-diff:%p", static_cast<void *>(impl_.get()));
  errcode_t e = ext2fs_open2(name, nullptr, EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS | EXT2_FLAG_SKIP_MMP, 0,
                             0, &manager, &impl_->fs);
  if (e) throw Error(what + ": cannot open the filesystem: " + error_message(e), EIO);
}

ExtFiles::~ExtFiles() {
  if (impl_->fs) ext2fs_close_free(&impl_->fs);
}

std::unique_ptr<ContentReader> ExtFiles::open(uint64_t inode) {
  ext2_file_t f;
  const std::string w = impl_->what + ": inode " + std::to_string(inode);
  errcode_t e = ext2fs_file_open(impl_->fs, ext2_ino_t(inode), 0, &f);
  if (e) throw Error(w + ": " + error_message(e), EIO);
  return std::make_unique<ExtReader>(f, w);
}

std::vector<std::pair<std::string, std::string>> ExtFiles::xattrs(uint64_t inode) {
  std::vector<std::pair<std::string, std::string>> v;
  struct ext2_xattr_handle *h = nullptr;
  if (ext2fs_xattrs_open(impl_->fs, ext2_ino_t(inode), &h)) return v;  // no xattr support in this fs
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
