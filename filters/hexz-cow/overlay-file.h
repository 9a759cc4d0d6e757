// The overlay data file (docs/format.md, section 2.1): a sparse file holding
// overlay block i at offset i * 4096.  An existing file is reused as it is,
// never truncated.  Without a path, an anonymous file in $TMPDIR is used
// instead; it is unlinked as soon as it is created, so it disappears when
// nbdkit exits, however it exits.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "unique-fd.h"

namespace hexz {
class Source;
}

namespace hexz_cow {

class OverlayFile {
 public:
  // PATH empty: ephemeral.  Throws hexz::Error naming the file.
  explicit OverlayFile(const std::string &path);
  ~OverlayFile();
  OverlayFile(const OverlayFile &) = delete;
  OverlayFile &operator=(const OverlayFile &) = delete;

  // The path, or a description of the ephemeral file, for messages.
  const std::string &name() const { return name_; }
  bool persistent() const { return persistent_; }
  // False when the file could only be opened read-only.
  bool writable() const { return writable_; }
  // Why the overlay is served read-only ("" if it is writable or was
  // opened read-only because the file itself cannot be written).
  const std::string &read_only_reason() const { return read_only_reason_; }
  // Serve read-only from now on, for REASON.
  void make_read_only(const std::string &reason) {
    writable_ = false;
    read_only_reason_ = reason;
  }
  uint64_t length() const;

  // Reads LEN bytes at OFF; bytes beyond the end of the file read as zero.
  void read(void *buf, size_t len, uint64_t off) const;
  void write(const void *buf, size_t len, uint64_t off);
  // Makes [OFF, OFF + LEN) a hole (or writes zeroes where the filesystem
  // cannot punch holes); the file length does not change.
  void punch(uint64_t off, uint64_t len);
  // fsync (a full one: hole punches are metadata).
  void sync();
  // Calls FN(offset, length, hole) for the allocated and unallocated runs
  // covering [OFF, OFF + LEN).
  void allocation(uint64_t off, uint64_t len, const std::function<void(uint64_t, uint64_t, bool)> &fn);
  // Takes the overlay's flock (overlay-lock.h), exclusive when the file is
  // writable, so that no two nbdkit processes ever serve one overlay while
  // it is written; throws, naming the holder, if another process holds it.
  // Nothing for an ephemeral overlay, which no other process can open.
  void lock();
  // Records this process as the holder (after nbdkit forked: the serving
  // process).  Best effort: the flock alone already excludes.
  void record_holder();

 private:
  std::string name_;
  hexz::UniqueFd fd_;
  bool persistent_ = false, writable_ = true, dir_synced_ = false;
  std::string read_only_reason_;
  // SEEK_DATA/SEEK_HOLE scanning is the core library's file source.  It
  // holds a second descriptor of the overlay, which must stay open as long
  // as FD_ (closing it would release the holder's record lock).
  std::unique_ptr<hexz::Source> scan_;
};

}  // namespace hexz_cow
