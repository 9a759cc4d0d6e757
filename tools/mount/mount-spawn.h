// Running helper programs (nbd-client, fusermount3) for hexz-mount and
// hexz-unmount.
#pragma once
#include <string>
#include <sys/types.h>
#include <vector>

namespace hexz {

// Starts ARGS[0] (searched in PATH) with an empty signal mask.  Throws
// Error naming the program and PACKAGE (the Debian package to install) if
// it cannot be run.
pid_t spawn_program(std::vector<std::string> args, const std::string &package);
// Waits for PID; returns its exit status, or 128 + the signal that killed it.
int wait_program(pid_t pid);

}  // namespace hexz
