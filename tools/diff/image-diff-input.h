// The two disks "hexz-diff -b BASE MODIFIED" compares.  Each is a .st
// snapshot (served by "nbdkit hexz" and read through libnbd, so hexz-diff
// never decodes a snapshot itself), an NBD URI (anything qemu-nbd or nbdkit
// serves, read through libnbd), or a raw image or block device.  A raw image
// is read directly with pread and SEEK_DATA/SEEK_HOLE: serving it through
// nbdkit's file plugin (VIA_NBDKIT) gives the same bytes but costs two more
// copies of every byte, which on a dense 2 GiB pair made the diff slower
// than merely reading both files.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "nbdkit-server.h"
#include "snapshot.h"
#include "source.h"

struct nbd_handle;

namespace hexz {

struct ImageInput {
  std::string spec;  // as given on the command line
  std::string role;  // "BASE", "MODIFIED"
  std::string kind;  // "hexz snapshot", "raw image", "NBD URI"
  // A .st input, opened (and so fully validated) in-process for its UUID and
  // block size; its bytes are still read through nbdkit.
  std::shared_ptr<const Snapshot> snapshot;
  std::unique_ptr<NbdkitServer> server;  // null for an NBD URI
  // Declared after the server so that it disconnects before nbdkit stops.
  std::unique_ptr<Source> source;
  // The connection SOURCE owns, borrowed for asynchronous reads (libnbd
  // handles are thread-safe; SOURCE closes it).  Null for a raw image read
  // directly.
  struct nbd_handle *handle = nullptr;

  uint64_t size() const { return source->size(); }
  // A new Source on the same disk, for a sandboxed parser worker
  // (fs/sandbox.h): a new connection to the server or URI, or the raw image
  // opened again.
  std::unique_ptr<Source> reopen() const;
  bool is_snapshot() const { return snapshot != nullptr; }
};

// Opens SPEC; ROLE ("BASE", "MODIFIED") names it in error messages.  Throws
// Error saying what SPEC is and why it cannot be read.  An input served by
// nbdkit is only started: connect_image_input() (idempotent) waits for its
// server and connects, after which SOURCE and HANDLE are set.
std::unique_ptr<ImageInput> open_image_input(const std::string &spec, const char *role, bool direct = false);
void connect_image_input(ImageInput &in);

}  // namespace hexz
