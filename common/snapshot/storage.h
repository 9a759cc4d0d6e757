// Where a snapshot's bytes come from.  Every read the snapshot reader does
// goes through a Storage, so that the same reader serves a local file
// (FileStorage, below) or an object fetched by byte ranges (HTTP, S3).
//
// The contract, which every implementation keeps:
// - read() fills exactly LEN bytes of BUF from offset OFF, or throws
//   hexz::Error (EIO for a short object or a failed transfer) whose message
//   names the storage; it never returns a partial read.  OFF + LEN <= size()
//   for every read the reader issues.
// - read() is called from many threads at once (nbdkit's parallel requests)
//   and must be safe for that; size() and name() are fixed at open.
// - The bytes never change while the Storage is open: snapshots are
//   immutable, and an implementation that can detect a change (an object
//   replaced on the server) throws instead of mixing two versions.
// - name() is what error messages and tools show: the path or the URL.
// - open_relative() opens the parent of a thin snapshot: REL is the parent
//   reference as stored in the file (relative to this storage's directory,
//   or absolute) and the result lives beside this one (same directory, same
//   bucket and prefix).
//
// The reader issues few, large reads: the header, then the section area
// (stream tables, parent reference, metadata) in one read, then index pages
// and stored blocks as requests need them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "unique-fd.h"

namespace hexz {

class Storage {
 public:
  virtual ~Storage();
  virtual void read(void *buf, size_t len, uint64_t off) = 0;
  virtual uint64_t size() const = 0;
  virtual std::string name() const = 0;
  // The default refuses (EINVAL): a storage that has no notion of a
  // directory cannot hold thin snapshots.
  virtual std::unique_ptr<Storage> open_relative(const std::string &rel) const;
};

// A local regular file read with pread(2).  open() throws Error naming PATH
// if it cannot be opened or is not a regular file.
class FileStorage : public Storage {
 public:
  static std::unique_ptr<Storage> open(const std::string &path);
  ~FileStorage() override;
  void read(void *buf, size_t len, uint64_t off) override;
  uint64_t size() const override { return size_; }
  std::string name() const override { return path_; }
  std::unique_ptr<Storage> open_relative(const std::string &rel) const override;

 private:
  FileStorage(std::string path, UniqueFd fd, uint64_t size) : path_(std::move(path)), fd_(std::move(fd)), size_(size) {}
  std::string path_;
  UniqueFd fd_;
  uint64_t size_;
};

// REL resolved against the directory holding PATH (REL itself if absolute).
std::string resolve_relative(const std::string &path, const std::string &rel);

}  // namespace hexz
