#include "mount-nbd.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "error.h"
#include "mount-log.h"
#include "nbdkit-server.h"
#include "process.h"
#include "util.h"

namespace hexz {

bool nbd_module_available(std::string &why) {
  struct stat st;
  if (stat("/sys/module/nbd", &st) == 0 || stat("/dev/nbd0", &st) == 0) return true;
  why = "--nbd needs the Linux nbd kernel module, which is not available on this machine "
        "(load it with 'modprobe nbd' as root, or mount without --nbd to use FUSE)";
  return false;
}

void serve_nbd(const NbdkitServer &server, const std::string &device, bool readonly, void (*ready)()) {
  struct stat st;
  if (stat(device.c_str(), &st) != 0 || !S_ISBLK(st.st_mode))
    throw Error(device + ": not a block device (give the nbd device to use, e.g. /dev/nbd0)", EINVAL);
  // Signals are taken synchronously below, so block them before nbd-client
  // exists (spawn_program() gives it an empty mask).
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  std::vector<std::string> args = {"nbd-client", "-unix", server.socket_path(), device, "-nofork"};
  if (readonly) args.push_back("-readonly");
  pid_t client = spawn_program(args, {.package = "nbd-client"});

  // Connected once the kernel knows the client's PID.
  std::string pidfile = "/sys/block/" + base_name(device) + "/pid";
  switch (wait_until_ready(client, [&] { return stat(pidfile.c_str(), &st) == 0; })) {
    case Readiness::READY: break;
    case Readiness::EXITED: throw Error("nbd-client could not connect " + device + " (its error is above)", EIO);
    case Readiness::TIMED_OUT:
      kill(client, SIGTERM);
      wait_program(client);
      throw Error("nbd-client did not connect " + device + " within 30 seconds", ETIMEDOUT);
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
    pid_t d = spawn_program({"nbd-client", "-d", device}, {.package = "nbd-client"});
    wait_program(d);
    wait_program(client);
    break;
  }
}

}  // namespace hexz
