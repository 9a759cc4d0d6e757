// Starting nbdkit for the tools.  hexz's tools never decode snapshots
// themselves: they start "nbdkit hexz" (with --filter=hexz-cow when an
// overlay is involved) on a private Unix socket and talk NBD to it through
// libnbd.
//
// Which nbdkit, plugin and filter are run can be overridden through the
// environment, which is how the test suite runs everything from the build
// tree with nothing installed:
//   HEXZ_NBDKIT      the nbdkit program          (default: nbdkit)
//   HEXZ_PLUGIN      the hexz plugin, name or path (default: hexz)
//   HEXZ_COW_FILTER  the hexz-cow filter, name or path (default: hexz-cow)
#pragma once
#include <atomic>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <vector>

#include "nbd-handle.h"


namespace hexz {

struct ServeOptions {
  std::string snapshot;       // file= for the hexz plugin (none if empty)
  // Non-empty: serve SNAPSHOT with this plugin instead of hexz_plugin(), e.g.
  // "file" for a raw image, so tools read every input the same way (libnbd).
  std::string plugin;
  std::string overlay;        // non-empty: add --filter=hexz-cow overlay=...
  std::vector<std::string> params;  // more key=value parameters (cache-size=, meta=, force=...)
  bool readonly = true;       // -r
  unsigned threads = 0;       // -t (0: nbdkit's default)
  // Long-running tools (hexz-mount) flush before stopping nbdkit, so nbdkit
  // must not receive the terminal's Ctrl+C itself: run it in a process group
  // of its own.
  bool own_process_group = false;
  // >= 0: nbdkit's standard error goes to this descriptor (a daemon relays
  // it once its own standard error is gone).
  int stderr_fd = -1;
  // False: the constructor only starts nbdkit, and wait_ready() (or the
  // first connect()) waits for it, so that a tool can start several servers
  // at once instead of paying each one's start-up in turn.
  bool wait = true;
};

std::string nbdkit_program();
std::string hexz_plugin();
std::string hexz_cow_filter();

// A running nbdkit serving a snapshot on a private Unix socket.  The
// constructor returns once nbdkit accepts connections (with
// ServeOptions::wait, the default), or throws Error with nbdkit's own
// message already printed on stderr.  The destructor stops it
// (SIGTERM, then waits), which makes the hexz-cow filter flush.
class NbdkitServer {
 public:
  explicit NbdkitServer(const ServeOptions &opts);
  ~NbdkitServer();
  NbdkitServer(const NbdkitServer &) = delete;
  NbdkitServer &operator=(const NbdkitServer &) = delete;

  // Returns once nbdkit accepts connections (at once if it already does);
  // throws Error as the constructor does.
  void wait_ready() const;
  // The socket and URIs are usable once nbdkit is ready.
  const std::string &socket_path() const { return socket_; }
  // nbd+unix URI of an export ("" = disk, "memory").
  std::string uri(const std::string &exportname = "") const;
  // A new connected handle to EXPORTNAME, with base:allocation requested.
  NbdHandle connect(const std::string &exportname = "") const;
  // Stops nbdkit and reports whether it exited cleanly; throws Error if not.
  void stop();

 private:
  std::string dir_, socket_, pidfile_;
  std::string what_;  // what it serves, for errors
  // Mutable: wait_ready() is const (as connect() is), since waiting changes
  // nothing a caller can see but the time it takes.  Threads may connect at
  // once: the first waits under WAIT_MU_, the others wait for it; once
  // READY_ is set no lock is taken (so a worker forked meanwhile by another
  // thread never meets a lock held in its parent).
  mutable pid_t pid_ = -1;
  mutable std::atomic<bool> ready_{false};
  mutable std::mutex wait_mu_;
};

}  // namespace hexz
