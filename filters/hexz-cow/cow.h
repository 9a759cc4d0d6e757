// The copy-on-write engine: the overlay file, the in-memory set of modified
// 4 KiB blocks and its persistence in .meta.  One Cow serves every connection
// to the disk export (they all see the same writable view).  Methods throw
// hexz::Error (message naming the file, err() the errno to report); the
// filter callbacks turn that into nbdkit_error and -1.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "block-locks.h"
#include "block-map.h"
#include "overlay-file.h"

struct nbdkit_next_ops;
struct nbdkit_extents;

namespace hexz_cow {

struct CowConfig {
  std::string overlay;  // empty: ephemeral
  std::string meta;     // empty: the default beside the overlay
  std::optional<uint64_t> expected_size;  // the snapshot's disk size, when known at start-up
};

class Cow {
 public:
  // Opens and locks the overlay (OverlayFile::lock: no other process may
  // serve it meanwhile), then checks .meta as far as possible before the
  // disk size is known (all of it when expected_size is set).
  explicit Cow(const CowConfig &cfg);

  // Called when a connection to the disk export is prepared, with the disk
  // size from the plugin.  The first call validates .meta and the overlay
  // length against it and loads the modified set; later calls check that the
  // size did not change.
  void attach(uint64_t disk_size);
  bool writable() const { return overlay_.writable(); }
  const std::string &read_only_reason() const { return overlay_.read_only_reason(); }
  // In the serving process (.after_fork): who holds the overlay.
  void record_holder() { overlay_.record_holder(); }

  void read(nbdkit_next_ops *next, void *buf, uint32_t count, uint64_t off);
  void write(nbdkit_next_ops *next, const void *buf, uint32_t count, uint64_t off);
  // Zero and trim: the blocks become modified and read as zeroes.
  void zero(nbdkit_next_ops *next, uint32_t count, uint64_t off);
  void extents(nbdkit_next_ops *next, uint32_t count, uint64_t off, uint32_t flags, nbdkit_extents *out);
  // Makes everything written so far durable: overlay data first, then .meta.
  void flush();

 private:
  // Serves the overlay read-only when .meta's directory refuses new files.
  void check_meta_writable();
  // Reads .meta and checks it and the overlay length against DISK_SIZE.
  std::vector<uint64_t> validate(uint64_t disk_size);
  // DATA null means zeroes.
  void modify(nbdkit_next_ops *next, const void *data, uint32_t count, uint64_t off);
  // Read-modify-write of part of block B: [off, off + len) from DATA.
  void rmw_block(nbdkit_next_ops *next, uint64_t b, const char *data, uint64_t off, uint64_t len);
  void read_next(nbdkit_next_ops *next, void *buf, uint64_t len, uint64_t off);

  OverlayFile overlay_;
  std::string meta_;
  std::optional<uint64_t> expected_size_;

  std::mutex attach_mu_;
  std::atomic<bool> attached_{false};
  uint64_t disk_size_ = 0, nblocks_ = 0;

  BlockMap map_;
  BlockLocks locks_;

  // The generation of the modified set that .meta on disk holds.
  std::mutex flush_mu_;
  uint64_t saved_gen_ = 0;
};

}  // namespace hexz_cow
