// Child processes of the tools (nbdkit, nbd-client, fusermount3): starting
// a program, waiting for it to end, and waiting until it is ready.
#pragma once
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace hexz {

struct SpawnOptions {
  // The Debian package that provides the program, named in the error when
  // it cannot be run.
  std::string package;
  // A process group of its own, so that the terminal's Ctrl+C reaches only
  // the caller, which then stops the child in order.
  bool own_process_group = false;
  // >= 0: the child's standard output / error go to these descriptors.
  int stdout_fd = -1;
  int stderr_fd = -1;
};

// Starts ARGS[0] (searched in PATH) with an empty signal mask, so that a
// caller that blocks signals to take them synchronously does not pass that
// on.  Throws Error naming the program and O.package if it cannot be run.
pid_t spawn_program(const std::vector<std::string> &args, const SpawnOptions &o = {});

// Waits for PID (retrying on EINTR); returns its exit status, or 128 + the
// signal that killed it.
int wait_program(pid_t pid);

enum class Readiness { READY, EXITED, TIMED_OUT };
// Polls READY every 10 ms until it returns true (READY), until PID exits
// (EXITED; the child has been reaped), or for TIMEOUT_SECONDS (TIMED_OUT;
// the child is still running and the caller stops it).
Readiness wait_until_ready(pid_t pid, const std::function<bool()> &ready, unsigned timeout_seconds = 30);

}  // namespace hexz
