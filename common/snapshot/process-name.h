// How the tools name another process in a message: "pid 1234 (nbdkit -f -U
// /tmp/...)".  Used for the holder of an overlay (overlay-lock.h) and the
// processes keeping a mount busy (hexz-unmount).
#pragma once
#include <string>
#include <sys/types.h>

namespace hexz {

// "pid PID (COMMAND LINE)", the command line shortened to 60 characters; the
// kernel's name for the process when it has none (a zombie); just "pid PID"
// when /proc tells nothing (gone, or another pid namespace).
std::string describe_process(pid_t pid);

}  // namespace hexz
