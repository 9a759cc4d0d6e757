// hexz-mount's messages: on standard error until the daemon detaches, then
// to syslog (standard error is /dev/null by then).
#pragma once
#include <string>
#include <thread>

namespace hexz {

void mount_log(const std::string &msg);
void mount_log_detach();
// Copies every line read from FD to standard error (syslog once detached)
// in a thread, until end of file, then closes FD.  Used for nbdkit's
// standard error in daemon mode.  Join the thread after nbdkit has exited.
std::thread mount_log_relay(int fd);

}  // namespace hexz
