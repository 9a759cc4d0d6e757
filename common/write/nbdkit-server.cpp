#include "nbdkit-server.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <libnbd.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

extern char **environ;

namespace hexz {

static std::string env_or(const char *var, const char *def) {
  const char *v = getenv(var);
  return v && *v ? v : def;
}

std::string nbdkit_program() { return env_or("HEXZ_NBDKIT", "nbdkit"); }
std::string hexz_plugin() { return env_or("HEXZ_PLUGIN", "hexz"); }
std::string hexz_cow_filter() { return env_or("HEXZ_COW_FILTER", "hexz-cow"); }

NbdkitServer::NbdkitServer(const ServeOptions &o) {
  std::string tmpl = env_or("TMPDIR", "/tmp") + "/hexz-nbdkit.XXXXXX";
  std::vector<char> t(tmpl.begin(), tmpl.end());
  t.push_back('\0');
  if (!mkdtemp(t.data())) throw_errno("mkdtemp " + tmpl);
  dir_ = t.data();
  socket_ = dir_ + "/sock";
  pidfile_ = dir_ + "/pid";

  std::vector<std::string> args = {nbdkit_program(), "-f", "--exit-with-parent", "-U", socket_, "-P", pidfile_};
  if (o.readonly) args.push_back("-r");
  if (o.threads) {
    args.push_back("-t");
    args.push_back(std::to_string(o.threads));
  }
  if (!o.overlay.empty()) args.push_back("--filter=" + hexz_cow_filter());
  args.push_back(o.plugin.empty() ? hexz_plugin() : o.plugin);
  args.push_back("file=" + o.snapshot);
  if (!o.overlay.empty()) args.push_back("overlay=" + o.overlay);
  for (auto &p : o.params) args.push_back(p);

  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_init(&actions);
  if (o.own_process_group) {
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
  }
  if (o.stderr_fd >= 0) posix_spawn_file_actions_adddup2(&actions, o.stderr_fd, 2);
  int r = posix_spawnp(&pid_, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (r != 0) {
    rmdir(dir_.c_str());
    throw Error(args[0] + ": cannot start nbdkit: " + strerror(r) + " (install the Debian package nbdkit)", r);
  }
  // nbdkit writes the PID file once it accepts connections.
  for (int i = 0; i < 3000; i++) {
    struct stat st;
    if (stat(pidfile_.c_str(), &st) == 0 && st.st_size > 0) return;
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      unlink(socket_.c_str());
      rmdir(dir_.c_str());
      throw Error("nbdkit could not serve " + o.snapshot + (o.overlay.empty() ? "" : " with overlay " + o.overlay) +
                      " (its error is above)",
                  EIO);
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  stop();
  throw Error("nbdkit did not start within 30 seconds", ETIMEDOUT);
}

void NbdkitServer::stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    unlink(pidfile_.c_str());
    unlink(socket_.c_str());
    rmdir(dir_.c_str());
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM))
      throw Error("nbdkit exited with an error (its message is above)", EIO);
  }
}

NbdkitServer::~NbdkitServer() {
  try {
    stop();
  } catch (...) {
  }
}

std::string NbdkitServer::uri(const std::string &exportname) const {
  return "nbd+unix:///" + exportname + "?socket=" + socket_;
}

NbdHandle NbdkitServer::connect(const std::string &exportname) const {
  NbdHandle h = new_nbd_handle();
  if (nbd_set_export_name(h.get(), exportname.c_str()) != 0 || nbd_connect_unix(h.get(), socket_.c_str()) != 0)
    throw Error("cannot connect to nbdkit (export '" + exportname + "'): " + nbd_get_error(), EIO);
  return h;
}

}  // namespace hexz
