// What the files of an ext2/3/4 filesystem hold (their contents in file
// order, their extended attributes), for "hexz-diff --files -b": only the
// filesystem itself knows them, so libext2fs reads them, on guest data, in
// a confined worker (worker.h) that serves the parent's requests.
//
// The worker opens its own connection to the disk and the filesystem once;
// each request then has a wall-clock watchdog (SandboxLimits::timeout, which
// also bounds its CPU: the worker has no RLIMIT_CPU of its own, as it serves
// all of a filesystem's files).  The parent bounds every reply by what it
// asked for and decodes attributes with wire.h.  A worker that dies, hangs
// or answers out of bounds makes every later request fail with the same
// Error, which names what happened.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "partition.h"
#include "wire.h"
#include "worker.h"

namespace hexz::fs {

// A pull-style reader of one file's bytes.
class ContentReader {
 public:
  virtual ~ContentReader() = default;
  // Up to LEN bytes; 0 at the end of the file.  Throws Error on damage.
  virtual size_t read(void *buf, size_t len) = 0;
};

class ExtFiles {
 public:
  // Starts the worker for the filesystem in PART of DISK.  WHAT names it in
  // errors ("vm-2.img").  Throws Error if the worker cannot open it.
  ExtFiles(const DiskOpener &disk, const Partition &part, const std::string &what, const SandboxLimits &lim);
  ~ExtFiles();  // kills the worker
  ExtFiles(const ExtFiles &) = delete;
  ExtFiles &operator=(const ExtFiles &) = delete;

  std::unique_ptr<ContentReader> open(uint64_t inode);
  // Sorted by name ("security.selinux", "user.foo", ...).
  Xattrs xattrs(uint64_t inode);

  // One request of the worker's protocol (ext-files.cpp): the reply's
  // payload, at most MAX_REPLY bytes.  Throws Error (EIO) if the worker
  // refuses (the file is damaged) or fails.
  std::string request(char tag, const std::string &payload, size_t max_reply, uint64_t inode);

 private:
  // Kills the worker (unless it is gone already), then throws and keeps
  // the Error that names WHY.
  [[noreturn]] void fail(const std::string &why);
  std::string what_;
  SandboxLimits lim_;
  Worker worker_;
  std::string dead_;  // why the worker is gone, once it is
};

}  // namespace hexz::fs
