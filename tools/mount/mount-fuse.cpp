#include "mount-fuse.h"

#define FUSE_USE_VERSION 312
#include <fuse3/fuse.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "error.h"
#include "mount-pool.h"

namespace hexz {

// hexz-unmount reads MOUNT_PID_FILE to learn which process to wait for (so
// that it returns only once the flush is done).  readdir does not list it.
// (An extended attribute would do too, but any getxattr support makes the
// kernel ask for security.capability before every single write.)
static const uint64_t PID_FH = UINT64_MAX;
static const std::string &pid_text() {
  static const std::string text = std::to_string(getpid()) + "\n";
  return text;
}

static const MountConfig &config() { return *static_cast<const MountConfig *>(fuse_get_context()->private_data); }

// The index of PATH's file in config().files, or one of these.
enum { ROOT = -1, NOT_FOUND = -2, PID_FILE = -3 };
static int lookup(const char *path) {
  if (strcmp(path, "/") == 0) return ROOT;
  if (path[0] == '/' && strcmp(path + 1, MOUNT_PID_FILE) == 0) return PID_FILE;
  const auto &files = config().files;
  for (size_t i = 0; i < files.size(); i++)
    if (path[0] == '/' && files[i].name == path + 1) return int(i);
  return NOT_FOUND;
}

static bool file_writable(const MountConfig &c, const MountFile &f) { return !c.readonly && f.pool->writable(); }

static void *fs_init(struct fuse_conn_info *, struct fuse_config *cfg) {
  // Nothing changes the files behind the kernel's back (every write goes
  // through this process), so the page cache and attributes stay valid.
  cfg->kernel_cache = 1;
  cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 3600;
  cfg->use_ino = 1;
  return fuse_get_context()->private_data;
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *) {
  const MountConfig &c = config();
  int i = lookup(path);
  if (i == NOT_FOUND) return -ENOENT;
  memset(st, 0, sizeof *st);
  st->st_uid = c.uid;
  st->st_gid = c.gid;
  st->st_atime = st->st_mtime = st->st_ctime = c.mtime;
  if (i == ROOT) {
    st->st_ino = 1;
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
    return 0;
  }
  if (i == PID_FILE) {
    st->st_ino = 2 + c.files.size();
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = off_t(pid_text().size());
    return 0;
  }
  const MountFile &f = c.files[i];
  st->st_ino = 2 + i;
  st->st_mode = S_IFREG | (file_writable(c, f) ? 0644 : 0444);
  st->st_nlink = 1;
  st->st_size = off_t(f.pool->size());
  st->st_blocks = (f.pool->size() + 511) / 512;
  st->st_blksize = 65536;
  return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t, struct fuse_file_info *,
                      enum fuse_readdir_flags) {
  if (lookup(path) != ROOT) return -ENOTDIR;
  fill(buf, ".", nullptr, 0, fuse_fill_dir_flags(0));
  fill(buf, "..", nullptr, 0, fuse_fill_dir_flags(0));
  for (auto &f : config().files) fill(buf, f.name.c_str(), nullptr, 0, fuse_fill_dir_flags(0));
  return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi) {
  const MountConfig &c = config();
  int i = lookup(path);
  if (i == NOT_FOUND) return -ENOENT;
  if (i == ROOT) return -EISDIR;
  bool write = (fi->flags & O_ACCMODE) != O_RDONLY;
  if (write && (i == PID_FILE || !file_writable(c, c.files[i]))) return -EROFS;
  fi->fh = i == PID_FILE ? PID_FH : unsigned(i);
  fi->keep_cache = 1;
  return 0;
}

static int fs_read(const char *, char *buf, size_t len, off_t off, struct fuse_file_info *fi) {
  if (fi->fh == PID_FH) {
    const std::string &t = pid_text();
    if (off < 0 || uint64_t(off) >= t.size()) return 0;
    len = std::min(len, t.size() - off);
    memcpy(buf, t.data() + off, len);
    return int(len);
  }
  const MountFile &f = config().files[fi->fh];
  uint64_t size = f.pool->size();
  if (off < 0) return -EINVAL;
  if (uint64_t(off) >= size) return 0;
  if (len > size - off) len = size - off;
  int r = f.pool->pread(buf, len, off);
  return r < 0 ? r : int(len);
}

static int fs_write(const char *, const char *buf, size_t len, off_t off, struct fuse_file_info *fi) {
  const MountConfig &c = config();
  const MountFile &f = c.files[fi->fh];
  if (!file_writable(c, f)) return -EROFS;
  uint64_t size = f.pool->size();
  if (off < 0) return -EINVAL;
  // The disk has a fixed size: writing past its end is out of space.
  if (uint64_t(off) >= size) return len ? -ENOSPC : 0;
  if (len > size - off) len = size - off;
  int r = f.pool->pwrite(buf, len, off);
  return r < 0 ? r : int(len);
}

// Punching a hole or zeroing a range (as VMs do for discard) becomes an
// NBD zero request, so the overlay records the blocks as zero.
static int fs_fallocate(const char *, int mode, off_t off, off_t len, struct fuse_file_info *fi) {
  const MountConfig &c = config();
  const MountFile &f = c.files[fi->fh];
  if (!file_writable(c, f)) return -EROFS;
  uint64_t size = f.pool->size();
  if (off < 0 || len <= 0) return -EINVAL;
  bool zero = mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) || (mode & ~FALLOC_FL_KEEP_SIZE) == FALLOC_FL_ZERO_RANGE;
  if (!zero && mode != 0 && mode != FALLOC_FL_KEEP_SIZE) return -EOPNOTSUPP;
  if (uint64_t(off) >= size) return zero || mode == FALLOC_FL_KEEP_SIZE ? 0 : -ENOSPC;
  uint64_t n = std::min<uint64_t>(uint64_t(len), size - off);
  if (!zero) return n == uint64_t(len) || mode == FALLOC_FL_KEEP_SIZE ? 0 : -ENOSPC;  // already "allocated"
  return f.pool->zero(n, off);
}

static int fs_fsync(const char *, int, struct fuse_file_info *fi) {
  const MountConfig &c = config();
  if (fi->fh == PID_FH) return 0;
  const MountFile &f = c.files[fi->fh];
  return file_writable(c, f) ? f.pool->flush() : 0;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *) {
  const MountConfig &c = config();
  int i = lookup(path);
  if (i == NOT_FOUND) return -ENOENT;
  if (i == ROOT) return -EISDIR;
  if (i == PID_FILE || !file_writable(c, c.files[i])) return -EROFS;
  // O_TRUNC or a resize: the disk's size is fixed.
  return uint64_t(size) == c.files[i].pool->size() ? 0 : -EINVAL;
}

static int fs_statfs(const char *, struct statvfs *st) {
  const MountConfig &c = config();
  memset(st, 0, sizeof *st);
  uint64_t total = 0;
  for (auto &f : c.files) total += f.pool->size();
  st->f_bsize = st->f_frsize = 4096;
  st->f_blocks = (total + 4095) / 4096;
  st->f_files = c.files.size() + 1;
  st->f_namemax = 255;
  return 0;
}

static struct fuse_operations operations() {
  auto ops = fuse_operations();
  ops.init = fs_init;
  ops.getattr = fs_getattr;
  ops.readdir = fs_readdir;
  ops.open = fs_open;
  ops.read = fs_read;
  ops.write = fs_write;
  ops.fsync = fs_fsync;
  ops.fallocate = fs_fallocate;
  ops.truncate = fs_truncate;
  ops.statfs = fs_statfs;
  return ops;
}

// libfuse splits -o values at commas; a backslash escapes one.
static std::string escape_option(const std::string &s) {
  std::string o;
  for (char ch : s) {
    if (ch == ',' || ch == '\\') o += '\\';
    o += ch;
  }
  return o;
}

void serve_fuse(const MountConfig &cfg, void (*ready)()) {
  std::vector<std::string> opts = {"hexz-mount", "-o", "fsname=" + escape_option(cfg.fsname), "-o", "subtype=hexz",
                                   "-o", "default_permissions"};
  if (cfg.readonly) opts.insert(opts.end(), {"-o", "ro"});
  // root mounting for another user: let that user in.
  if (geteuid() == 0 && (cfg.uid != 0 || cfg.gid != 0)) opts.insert(opts.end(), {"-o", "allow_other"});
  std::vector<char *> argv;
  for (auto &o : opts) argv.push_back(o.data());
  struct fuse_args args = FUSE_ARGS_INIT(int(argv.size()), argv.data());

  struct fuse_operations ops = operations();
  struct fuse *f = fuse_new(&args, &ops, sizeof ops, const_cast<MountConfig *>(&cfg));
  fuse_opt_free_args(&args);
  if (!f) throw Error("cannot set up FUSE (libfuse's message is above)", EIO);
  if (fuse_mount(f, cfg.mountpoint.c_str()) != 0) {
    fuse_destroy(f);
    throw Error("cannot mount on " + cfg.mountpoint + " (libfuse's message is above)", EIO);
  }
  struct fuse_session *se = fuse_get_session(f);
  if (fuse_set_signal_handlers(se) != 0) {
    fuse_unmount(f);
    fuse_destroy(f);
    throw Error("cannot install signal handlers", EIO);
  }
  ready();
  struct fuse_loop_config *loop = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(loop, 1);
  fuse_loop_cfg_set_idle_threads(loop, 8);
  fuse_loop_mt(f, loop);
  fuse_loop_cfg_destroy(loop);
  // From here on a second signal must not kill us before the flush.
  fuse_remove_signal_handlers(se);
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  fuse_unmount(f);
  fuse_destroy(f);
}

}  // namespace hexz
