#include "mount-log.h"

#include <atomic>
#include <cstdio>
#include <syslog.h>
#include <thread>
#include <unistd.h>

namespace hexz {

static std::atomic<bool> detached{false};

void mount_log(const std::string &msg) {
  if (detached) {
    syslog(LOG_ERR, "%s", msg.c_str());
  } else {
    std::string line = "hexz-mount: " + msg + "\n";
    fputs(line.c_str(), stderr);
  }
}

void mount_log_detach() {
  openlog("hexz-mount", LOG_PID, LOG_DAEMON);
  detached = true;
}

std::thread mount_log_relay(int fd) {
  return std::thread([fd] {
    std::string line;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) != 0) {
      if (n < 0) continue;  // EINTR
      for (ssize_t i = 0; i < n; i++) {
        if (buf[i] != '\n') {
          line += buf[i];
          continue;
        }
        // nbdkit's lines already carry its own "nbdkit: " prefix.
        if (detached) syslog(LOG_ERR, "%s", line.c_str());
        else fprintf(stderr, "%s\n", line.c_str());
        line.clear();
      }
    }
    if (!line.empty()) mount_log(line);
    ::close(fd);
  });
}

}  // namespace hexz
