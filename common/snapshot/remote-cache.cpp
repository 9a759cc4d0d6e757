#include "remote-cache.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "checksum.h"
#include "endian.h"
#include "error.h"
#include "remote-http.h"
#include "unique-fd.h"
#include "util.h"

namespace hexz {

namespace {

constexpr unsigned char ENTRY_MAGIC[8] = {'H', 'X', 'Z', 'C', 'A', 'C', 'H', '1'};

void mkdir_p(const std::string &path) {
  for (size_t i = 1; i <= path.size(); i++) {
    if (i != path.size() && path[i] != '/') continue;
    std::string p = path.substr(0, i);
    if (mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) throw_errno(p + ": cannot create the cache directory");
  }
}

char hexdigit(unsigned v) { return "0123456789abcdef"[v & 15]; }

std::string hex(uint64_t v, int digits) {
  std::string s(size_t(digits), '0');
  for (int i = digits - 1; i >= 0; i--, v >>= 4) s[size_t(i)] = hexdigit(unsigned(v));
  return s;
}

// Calls FN(path, stat) for every regular file under DIR, recursively.
template <class Fn>
void walk(const std::string &dir, Fn &fn) {
  DIR *d = opendir(dir.c_str());
  if (!d) return;
  while (struct dirent *e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    std::string p = dir + "/" + e->d_name;
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) continue;  // removed meanwhile
    if (S_ISDIR(st.st_mode))
      walk(p, fn);
    else if (S_ISREG(st.st_mode))
      fn(p, st);
  }
  closedir(d);
}

}  // namespace

DiskCache::DiskCache(const std::string &dir, uint64_t max_bytes) : dir_(dir), max_bytes_(max_bytes) {
  mkdir_p(dir_ + "/v1");
  if (access(dir_.c_str(), R_OK | W_OK | X_OK) != 0) throw_errno(dir_ + ": cache directory not usable");
  usage_ = scan_usage();
  if (usage_ > max_bytes_) evict();
}

// DIR/v1/UUID/RRRRRR/OOOOOOOOOOOOOOOO-LLLLLLLL: one sub-directory per 16 MiB
// region of the file, so that no directory holds more than a few hundred
// entries.
std::string DiskCache::entry_path(const Uuid &uuid, uint64_t off, uint32_t len, bool make_dirs) const {
  std::string d = dir_ + "/v1/" + uuid_to_string(uuid) + "/" + hex(off >> 24, 10);
  if (make_dirs) mkdir_p(d);
  return d + "/" + hex(off, 16) + "-" + hex(len, 8);
}

bool DiskCache::get(const Uuid &uuid, uint64_t off, uint32_t len, void *buf) {
  std::string path = entry_path(uuid, off, len, false);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  unsigned char h[ENTRY_HEADER];
  struct stat st;
  bool ok = false;
  try {
    ok = fstat(fd.get(), &st) == 0 && uint64_t(st.st_size) == uint64_t(ENTRY_HEADER) + len &&
         pread_full(fd.get(), h, ENTRY_HEADER, 0, path) == ENTRY_HEADER &&
         pread_full(fd.get(), buf, len, ENTRY_HEADER, path) == len && std::memcmp(h, ENTRY_MAGIC, 8) == 0 &&
         load_le64(h + 8) == off && load_le32(h + 16) == len && load_le64(h + 24) == checksum(buf, len);
  } catch (const Error &) {
    ok = false;  // an I/O error on the entry: treated as damage
  }
  if (ok) futimens(fd.get(), nullptr);  // most recently used
  fd.reset();
  if (!ok) {
    // Never served: removed, so that the refetched bytes replace it.
    damaged_++;
    remote_log(path + ": damaged cache entry removed; fetching the bytes again");
    unlink(path.c_str());
    return false;
  }
  hits_++;
  return true;
}

void DiskCache::put(const Uuid &uuid, uint64_t off, uint32_t len, const void *buf) {
  try {
    std::string path = entry_path(uuid, off, len, true);
    unsigned char h[ENTRY_HEADER] = {0};
    std::memcpy(h, ENTRY_MAGIC, 8);
    store_le64(h + 8, off);
    store_le32(h + 16, len);
    store_le64(h + 24, checksum(buf, len));
    std::string tmp;  // PATH.tmp.XXXXXX, which evict() recognises
    UniqueFd fd = make_temp_file(dir_name(path), base_name(path) + ".tmp", tmp);
    try {
      pwrite_full(fd.get(), h, ENTRY_HEADER, 0, tmp);
      pwrite_full(fd.get(), buf, len, ENTRY_HEADER, tmp);
      // No fsync: after a crash a torn entry fails its checksum and is
      // fetched again, which is cheaper than syncing every block.
      if (fchmod(fd.get(), 0644) != 0) throw_errno(tmp);
      fd.reset();
      if (rename(tmp.c_str(), path.c_str()) != 0) throw_errno(path);
    } catch (...) {
      unlink(tmp.c_str());
      throw;
    }
  } catch (const Error &e) {
    if (!warned_.exchange(true)) remote_log(std::string("cache-dir: cannot store an entry (caching less): ") + e.what());
    return;
  }
  bool over;
  {
    std::lock_guard<std::mutex> g(mu_);
    usage_ += ENTRY_HEADER + uint64_t(len);
    since_scan_ += ENTRY_HEADER + uint64_t(len);
    // Other processes write too: rescan after every eighth of the bound.
    over = usage_ > max_bytes_ || since_scan_ > max_bytes_ / 8;
  }
  if (over) evict();
}

uint64_t DiskCache::scan_usage() const {
  uint64_t total = 0;
  auto fn = [&](const std::string &, const struct stat &st) { total += uint64_t(st.st_size); };
  walk(dir_ + "/v1", fn);
  return total;
}

void DiskCache::evict() {
  std::lock_guard<std::mutex> g(mu_);
  // One evicting process at a time; the others go on (they will rescan later).
  std::string lock = dir_ + "/lock";
  UniqueFd lfd(::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lfd || flock(lfd.get(), LOCK_EX | LOCK_NB) != 0) return;
  struct Entry {
    std::string path;
    struct timespec mtime;
    uint64_t size;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  const time_t stale = time(nullptr) - 3600;
  auto fn = [&](const std::string &p, const struct stat &st) {
    // Another process's entry being written is not ours to remove; one left
    // by a process that died is, once it is an hour old.
    if (p.find(".tmp.") != std::string::npos && st.st_mtim.tv_sec > stale) {
      total += uint64_t(st.st_size);
      return;
    }
    entries.push_back({p, st.st_mtim, uint64_t(st.st_size)});
    total += uint64_t(st.st_size);
  };
  walk(dir_ + "/v1", fn);
  if (total > max_bytes_) {
    std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
      return a.mtime.tv_sec != b.mtime.tv_sec ? a.mtime.tv_sec < b.mtime.tv_sec : a.mtime.tv_nsec < b.mtime.tv_nsec;
    });
    // Down to 90% of the bound, so that eviction does not run on every write.
    uint64_t target = max_bytes_ / 10 * 9;
    for (const Entry &e : entries) {
      if (total <= target) break;
      if (unlink(e.path.c_str()) == 0) total -= e.size;
    }
  }
  usage_ = total;
  since_scan_ = 0;
}  // closing LFD releases the lock

}  // namespace hexz
