// Small helpers shared by the library, the plugin, the filter and the tools.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <sys/types.h>

#include "unique-fd.h"

namespace hexz {

using Uuid = std::array<unsigned char, 16>;

// A random RFC 4122 version 4 UUID (from getrandom).
Uuid uuid_generate();
// Canonical lowercase 8-4-4-4-12 form.
std::string uuid_to_string(const Uuid &u);
// Parses the canonical form; false on anything else.
bool uuid_from_string(const std::string &s, Uuid &out);

// "65536", "64K", "64k", "256M", "1G", "1T" (1024-based).  Throws Error
// (EINVAL) naming WHAT on garbage or overflow.
uint64_t parse_size(const std::string &s, const char *what);

// 1024-based, one decimal, units B KB MB GB TB: 20971520 -> "20.0 MB".
std::string format_size(uint64_t bytes);

// Seconds since the epoch as "2026-12-01 22:00:00 UTC".
std::string format_time(uint64_t seconds);

// Full-length pread/pwrite: loop over short transfers and EINTR, and throw
// Error("PATH: read/write at offset OFF: strerror", errno) when a call
// fails.  pread_full returns the number of bytes read, which is less than
// LEN only at end of file.
size_t pread_full(int fd, void *buf, size_t len, off_t off, const std::string &path);
void pwrite_full(int fd, const void *buf, size_t len, off_t off, const std::string &path);
void fsync_or_throw(int fd, const std::string &path);
// fsync the directory holding PATH, so that a rename in it is durable.
void fsync_parent_dir(const std::string &path);

// Opens PATH with FLAGS (O_CLOEXEC is added) and requires a regular file:
// the open itself is non-blocking, so a FIFO named as a parent, base or
// overlay cannot hang the caller in open(), and a FIFO, device node or
// directory is refused with an Error naming PATH as WHAT ("parent
// snapshot", "overlay", ...) and what it is instead.  O_NONBLOCK is cleared
// again on the result.  Throws the errno otherwise (ENOENT...).
UniqueFd open_regular(const std::string &path, int flags, const char *what, mode_t mode = 0644);

std::string dir_name(const std::string &path);
std::string base_name(const std::string &path);
// Absolute, lexically normalised form of PATH (does not resolve symlinks and
// does not require the file to exist).  A URL (remote-url.h) is returned
// as it is, and so is a URL TARGET by relative_path: that is how the tools
// take a URL wherever they take a .st.
std::string absolute_path(const std::string &path);
// TARGET expressed relative to directory FROM_DIR (both made absolute first).
std::string relative_path(const std::string &target, const std::string &from_dir);

// The value of the environment variable VAR when it is set and not empty,
// else FALLBACK.
std::string env_or(const char *var, const char *fallback);
// The directory for temporary files: env_or("TMPDIR", FALLBACK).
std::string temp_dir(const char *fallback = "/tmp");
// Creates a new directory DIR/PREFIX.XXXXXX (mkdtemp: mode 0700, a name no
// other process has) and returns its path.  Throws Error naming it.
std::string make_temp_dir(const std::string &dir, const std::string &prefix);
// Creates and opens a new file DIR/PREFIX.XXXXXX (mkostemp: read-write,
// mode 0600, close-on-exec); sets PATH to its name.  Throws Error naming it.
UniqueFd make_temp_file(const std::string &dir, const std::string &prefix, std::string &path);

// A file that appears under its final name only when commit() succeeds:
// created as DIR/.NAME.XXXXXX, fsynced, renamed, directory fsynced.  The
// destructor removes the temporary file if commit() was not reached.  The
// temporary file is flock'ed for the writer's lifetime, and the constructor
// first removes the DIR/.NAME.XXXXXX files that no live process holds (left
// by a writer that was killed; older than a minute).
class AtomicFile {
 public:
  explicit AtomicFile(const std::string &final_path, mode_t mode = 0644);
  ~AtomicFile();
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;

  int fd() const { return fd_.get(); }
  const std::string &temp_path() const { return temp_; }
  const std::string &final_path() const { return final_; }
  void commit();

 private:
  std::string final_, temp_;
  UniqueFd fd_;
  int slot_ = -1;  // registration for remove_temp_files_on_signals
  bool committed_ = false;
};

// Makes SIGINT, SIGTERM and SIGHUP remove every AtomicFile's temporary file
// before the process dies (for command-line tools; servers do not call it).
void remove_temp_files_on_signals();

// Writes CONTENT to PATH atomically with AtomicFile.
void write_file_atomic(const std::string &path, const std::string &content, mode_t mode = 0644);

}  // namespace hexz
