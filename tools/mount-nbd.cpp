#include "mount-nbd.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "error.h"
#include "mount-log.h"
#include "nbdkit_server.h"
#include "util.h"

extern char **environ;

namespace hexz {

bool nbd_module_available(std::string &why) {
  struct stat st;
  if (stat("/sys/module/nbd", &st) == 0 || stat("/dev/nbd0", &st) == 0) return true;
  why = "--nbd needs the Linux nbd kernel module, which is not available on this machine "
        "(load it with 'modprobe nbd' as root, or mount without --nbd to use FUSE)";
  return false;
}

static pid_t spawn(std::vector<std::string> args) {
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The child must not inherit serve_nbd's blocked signals.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid;
  int r = posix_spawnp(&pid, argv[0], nullptr, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (r != 0) throw Error(args[0] + ": cannot run: " + strerror(r) + " (install the Debian package nbd-client)", r);
  return pid;
}

static int wait_status(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

void serve_nbd(const NbdkitServer &server, const std::string &device, bool readonly, void (*ready)()) {
  struct stat st;
  if (stat(device.c_str(), &st) != 0 || !S_ISBLK(st.st_mode))
    throw Error(device + ": not a block device (give the nbd device to use, e.g. /dev/nbd0)", EINVAL);
  // Signals are taken synchronously below, so block them before nbd-client
  // exists (spawn() gives it an empty mask).
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  std::vector<std::string> args = {"nbd-client", "-unix", server.socket_path(), device, "-nofork"};
  if (readonly) args.push_back("-readonly");
  pid_t client = spawn(args);

  // Connected once the kernel knows the client's PID.
  std::string pidfile = "/sys/block/" + base_name(device) + "/pid";
  for (int i = 0;; i++) {
    if (stat(pidfile.c_str(), &st) == 0) break;
    int status;
    if (waitpid(client, &status, WNOHANG) == client)
      throw Error("nbd-client could not connect " + device + " (its error is above)", EIO);
    if (i == 3000) {
      kill(client, SIGTERM);
      wait_status(client);
      throw Error("nbd-client did not connect " + device + " within 30 seconds", ETIMEDOUT);
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  ready();
  for (;;) {
    int sig = 0;
    sigwait(&set, &sig);
    int status;
    if (sig == SIGCHLD) {
      if (waitpid(client, &status, WNOHANG) == client) break;
      continue;
    }
    // Disconnecting makes the kernel flush, then nbd-client returns.
    pid_t d = spawn({"nbd-client", "-d", device});
    wait_status(d);
    wait_status(client);
    break;
  }
}

}  // namespace hexz
