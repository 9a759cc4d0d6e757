#include "util.h"

#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <mutex>
#include <set>
#include <dirent.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "error.h"
#include "remote-url.h"
#include "unique-fd.h"

namespace hexz {

void throw_errno(const std::string &context) {
  int e = errno;
  throw Error(context + ": " + std::strerror(e), e);
}

Uuid uuid_generate() {
  Uuid u;
  size_t got = 0;
  while (got < u.size()) {
    ssize_t r = getrandom(u.data() + got, u.size() - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno("getrandom");
    }
    got += size_t(r);
  }
  u[6] = (u[6] & 0x0f) | 0x40;  // version 4
  u[8] = (u[8] & 0x3f) | 0x80;  // RFC 4122 variant
  return u;
}

std::string uuid_to_string(const Uuid &u) {
  char buf[37];
  char *p = buf;
  for (size_t i = 0; i < u.size(); i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
    p += snprintf(p, 3, "%02x", u[i]);
  }
  return std::string(buf, 36);
}

bool uuid_from_string(const std::string &s, Uuid &out) {
  if (s.size() != 36) return false;
  size_t j = 0;
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
      i++;
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = hex(s[i]), lo = hex(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[j++] = uint8_t(hi << 4 | lo);
    i += 2;
  }
  return j == 16;
}

uint64_t parse_size(const std::string &s, const char *what) {
  auto bad = [&]() -> uint64_t {
    throw Error(std::string(what) + ": cannot parse size '" + s + "' (use a number with an optional K, M, G or T suffix)",
                EINVAL);
  };
  if (s.empty() || s[0] < '0' || s[0] > '9') return bad();
  uint64_t v = 0;
  size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; i++) {
    if (v > (UINT64_MAX - 9) / 10) return bad();
    v = v * 10 + uint64_t(s[i] - '0');
  }
  std::string suffix = s.substr(i);
  if (suffix.size() == 2 && (suffix[1] == 'B' || suffix[1] == 'b')) suffix.pop_back();
  if (suffix.size() == 3 && suffix.substr(1) == "iB") suffix.resize(1);
  unsigned shift = 0;
  if (suffix.empty() || suffix == "b" || suffix == "B") shift = 0;
  else if (suffix == "k" || suffix == "K") shift = 10;
  else if (suffix == "m" || suffix == "M") shift = 20;
  else if (suffix == "g" || suffix == "G") shift = 30;
  else if (suffix == "t" || suffix == "T") shift = 40;
  else return bad();
  if (shift && v > (UINT64_MAX >> shift)) return bad();
  return v << shift;
}

std::string format_time(uint64_t seconds) {
  time_t t = time_t(seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string format_size(uint64_t bytes) {
  static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = double(bytes);
  size_t u = 0;
  while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
    v /= 1024.0;
    u++;
  }
  char buf[64];
  snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

size_t pread_full(int fd, void *buf, size_t len, off_t off, const std::string &path) {
  size_t done = 0;
  while (done < len) {
    ssize_t r = pread(fd, static_cast<char *>(buf) + done, len - done, off + off_t(done));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno(path + ": read at offset " + std::to_string(off + off_t(done)));
    }
    if (r == 0) break;
    done += size_t(r);
  }
  return done;
}

void pwrite_full(int fd, const void *buf, size_t len, off_t off, const std::string &path) {
  size_t done = 0;
  while (done < len) {
    ssize_t r = pwrite(fd, static_cast<const char *>(buf) + done, len - done, off + off_t(done));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno(path + ": write at offset " + std::to_string(off + off_t(done)));
    }
    done += size_t(r);
  }
}

void fsync_or_throw(int fd, const std::string &path) {
  if (fsync(fd) != 0) throw_errno(path + ": fsync");
}

void fsync_parent_dir(const std::string &path) {
  std::string dir = dir_name(path);
  UniqueFd dfd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) throw_errno(dir + ": open directory");
  if (fsync(dfd.get()) != 0) throw_errno(dir + ": fsync directory");
}

UniqueFd open_regular(const std::string &path, int flags, const char *what, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), flags | O_NONBLOCK | O_CLOEXEC, mode));
  if (!fd) throw_errno(path);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) throw_errno(path + ": stat");
  if (!S_ISREG(st.st_mode)) {
    const char *kind = S_ISFIFO(st.st_mode)  ? "a FIFO"
                       : S_ISCHR(st.st_mode) ? "a character device"
                       : S_ISBLK(st.st_mode) ? "a block device"
                       : S_ISDIR(st.st_mode) ? "a directory"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "not a regular file";
    throw Error(path + ": " + what + " must be a regular file, but this is " + kind, EINVAL);
  }
  int fl = fcntl(fd.get(), F_GETFL);
  if (fl < 0 || fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK) != 0) throw_errno(path + ": fcntl");
  return fd;
}

std::string dir_name(const std::string &path) {
  return std::filesystem::path(path).parent_path().empty() ? std::string(".")
                                                           : std::filesystem::path(path).parent_path().string();
}

std::string base_name(const std::string &path) { return std::filesystem::path(path).filename().string(); }

std::string absolute_path(const std::string &path) {
  if (is_url(path)) return path;  // a remote snapshot: already absolute
  return std::filesystem::absolute(std::filesystem::path(path)).lexically_normal().string();
}

std::string relative_path(const std::string &target, const std::string &from_dir) {
  if (is_url(target)) return target;
  auto t = std::filesystem::path(absolute_path(target));
  auto f = std::filesystem::path(absolute_path(from_dir));
  auto r = t.lexically_relative(f);
  return r.empty() ? t.string() : r.string();
}

std::string env_or(const char *var, const char *fallback) {
  const char *v = getenv(var);
  return v && *v ? v : fallback;
}

std::string temp_dir(const char *fallback) { return env_or("TMPDIR", fallback); }

std::string make_temp_dir(const std::string &dir, const std::string &prefix) {
  std::string name = dir + "/" + prefix + ".XXXXXX";
  if (!mkdtemp(name.data())) throw_errno(name + ": cannot create a temporary directory");
  return name;
}

UniqueFd make_temp_file(const std::string &dir, const std::string &prefix, std::string &path) {
  std::string name = dir + "/" + prefix + ".XXXXXX";
  UniqueFd fd(mkostemp(name.data(), O_CLOEXEC));
  if (!fd) throw_errno(name + ": cannot create a temporary file");
  path = name;
  return fd;
}

// Temporary files that a fatal signal must remove.  Plain arrays, because the
// handler may only call async-signal-safe functions.
namespace {
constexpr int MAX_TEMPS = 16;
char temp_paths[MAX_TEMPS][4096];
volatile sig_atomic_t temp_used[MAX_TEMPS];

void on_fatal_signal(int sig) {
  for (int i = 0; i < MAX_TEMPS; i++)
    if (temp_used[i]) unlink(temp_paths[i]);
  signal(sig, SIG_DFL);
  raise(sig);
}

int register_temp(const std::string &path) {
  if (path.size() >= sizeof temp_paths[0]) return -1;
  for (int i = 0; i < MAX_TEMPS; i++)
    if (!temp_used[i]) {
      std::memcpy(temp_paths[i], path.c_str(), path.size() + 1);
      temp_used[i] = 1;
      return i;
    }
  return -1;
}
}  // namespace

void remove_temp_files_on_signals() {
  struct sigaction sa = {};
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

// Temporary files of earlier writers of FINAL that died without removing
// them (SIGKILL, a crash, power loss): DIR/.NAME.XXXXXX that no process
// holds.  A writer holds an exclusive flock on its temporary file for as long
// as it lives (the kernel drops it when the process dies), so a file this
// process can lock belongs to nobody.  Files modified in the last minute are
// left alone: between mkostemp and flock a live writer's file is briefly
// unlocked.  Only regular files of this user, never followed through links.
static void remove_stale_temps(const std::string &dir, const std::string &prefix) {
  // Once per output and process: hexz-cow rewrites its .meta at every
  // flush, which must not cost a directory scan each time.
  static std::mutex lock;
  static std::set<std::string> swept;
  {
    std::lock_guard<std::mutex> g(lock);
    if (!swept.insert(dir + "/" + prefix).second) return;
  }
  DIR *d = opendir(dir.c_str());
  if (!d) return;  // the writer's own open reports the error
  const time_t now = time(nullptr);
  while (struct dirent *e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() != prefix.size() + 7 || name.compare(0, prefix.size() + 1, prefix + ".") != 0) continue;
    UniqueFd fd(openat(dirfd(d), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st, now_st;
    if (!fd || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) continue;
    if (now - st.st_mtime < 60 || flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;
    // Still the file we locked under that name (not replaced meanwhile).
    if (fstatat(dirfd(d), name.c_str(), &now_st, AT_SYMLINK_NOFOLLOW) == 0 && now_st.st_dev == st.st_dev &&
        now_st.st_ino == st.st_ino)
      unlinkat(dirfd(d), name.c_str(), 0);
  }
  closedir(d);
}

AtomicFile::AtomicFile(const std::string &final_path, mode_t mode) : final_(final_path) {
  const std::string dir = dir_name(final_path), prefix = "." + base_name(final_path);
  remove_stale_temps(dir, prefix);
  fd_ = make_temp_file(dir, prefix, temp_);
  // Held until this process exits: it tells remove_stale_temps in other
  // processes that the file is in use.
  if (flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    fd_.reset();
    unlink(temp_.c_str());
    errno = e;
    throw_errno(temp_ + ": flock");
  }
  slot_ = register_temp(temp_);
  if (fchmod(fd_.get(), mode) != 0) {
    int e = errno;
    fd_.reset();
    unlink(temp_.c_str());
    if (slot_ >= 0) temp_used[slot_] = 0;
    errno = e;
    throw_errno(temp_ + ": fchmod");
  }
}

AtomicFile::~AtomicFile() {
  if (!committed_) unlink(temp_.c_str());
  if (slot_ >= 0) temp_used[slot_] = 0;
}

void AtomicFile::commit() {
  fsync_or_throw(fd_.get(), temp_);
  // close() reports the last write errors of some filesystems (NFS).
  if (close(fd_.release()) != 0) throw_errno(temp_ + ": close");
  if (rename(temp_.c_str(), final_.c_str()) != 0) throw_errno(final_ + ": rename from " + temp_);
  committed_ = true;
  if (slot_ >= 0) temp_used[slot_] = 0;
  slot_ = -1;
  fsync_parent_dir(final_);
}

void write_file_atomic(const std::string &path, const std::string &content, mode_t mode) {
  AtomicFile f(path, mode);
  pwrite_full(f.fd(), content.data(), content.size(), 0, f.temp_path());
  f.commit();
}

}  // namespace hexz
