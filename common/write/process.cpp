#include "process.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <spawn.h>
#include <sys/wait.h>

#include "error.h"

extern char **environ;

namespace hexz {

pid_t spawn_program(const std::vector<std::string> &args, const SpawnOptions &o) {
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_init(&actions);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  short flags = POSIX_SPAWN_SETSIGMASK;
  if (o.own_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  if (o.stdout_fd >= 0) posix_spawn_file_actions_adddup2(&actions, o.stdout_fd, 1);
  if (o.stderr_fd >= 0) posix_spawn_file_actions_adddup2(&actions, o.stderr_fd, 2);
  pid_t pid;
  int r = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (r != 0)
    throw Error(args[0] + ": cannot run: " + strerror(r) +
                    (o.package.empty() ? "" : " (install the Debian package " + o.package + ")"),
                r);
  return pid;
}

int wait_program(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Readiness wait_until_ready(pid_t pid, const std::function<bool()> &ready, unsigned timeout_seconds) {
  for (unsigned i = 0; i < timeout_seconds * 100; i++) {
    if (ready()) return Readiness::READY;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) return Readiness::EXITED;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  return ready() ? Readiness::READY : Readiness::TIMED_OUT;
}

}  // namespace hexz
