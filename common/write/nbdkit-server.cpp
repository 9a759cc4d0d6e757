#include "nbdkit-server.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <libnbd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "process.h"
#include "remote-url.h"
#include "util.h"

namespace hexz {

std::string nbdkit_program() { return env_or("HEXZ_NBDKIT", "nbdkit"); }
std::string hexz_plugin() { return env_or("HEXZ_PLUGIN", "hexz"); }
std::string hexz_cow_filter() { return env_or("HEXZ_COW_FILTER", "hexz-cow"); }

NbdkitServer::NbdkitServer(const ServeOptions &o) {
  dir_ = make_temp_dir(temp_dir(), "hexz-nbdkit");
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
  // A snapshot behind a URL is the hexz plugin's url=.
  if (!o.snapshot.empty())
    args.push_back((o.plugin.empty() && is_url(o.snapshot) ? "url=" : "file=") + o.snapshot);
  if (!o.overlay.empty()) args.push_back("overlay=" + o.overlay);
  for (auto &p : o.params) args.push_back(p);

  SpawnOptions spawn;
  spawn.package = "nbdkit";
  spawn.own_process_group = o.own_process_group;
  spawn.stderr_fd = o.stderr_fd;
  try {
    pid_ = spawn_program(args, spawn);
  } catch (...) {
    rmdir(dir_.c_str());
    throw;
  }
  what_ = o.snapshot + (o.overlay.empty() ? "" : " with overlay " + o.overlay);
  if (o.wait) wait_ready();
}

void NbdkitServer::wait_ready() const {
  if (ready_) return;
  std::lock_guard<std::mutex> lk(wait_mu_);
  if (ready_) return;
  // nbdkit writes the PID file once it accepts connections.
  auto pidfile_written = [this] {
    struct stat st;
    return stat(pidfile_.c_str(), &st) == 0 && st.st_size > 0;
  };
  switch (pid_ > 0 ? wait_until_ready(pid_, pidfile_written) : Readiness::EXITED) {
    case Readiness::READY: ready_ = true; return;
    case Readiness::EXITED:
      pid_ = -1;
      unlink(socket_.c_str());
      rmdir(dir_.c_str());
      throw Error("nbdkit could not serve " + what_ + " (its error is above)", EIO);
    case Readiness::TIMED_OUT: break;
  }
  const_cast<NbdkitServer *>(this)->stop();
  throw Error("nbdkit did not start within 30 seconds", ETIMEDOUT);
}

void NbdkitServer::stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int rc = wait_program(pid_);
    pid_ = -1;
    unlink(pidfile_.c_str());
    unlink(socket_.c_str());
    rmdir(dir_.c_str());
    if (rc != 0 && rc != 128 + SIGTERM) throw Error("nbdkit exited with an error (its message is above)", EIO);
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
  wait_ready();
  NbdHandle h = new_nbd_handle();
  if (nbd_set_export_name(h.get(), exportname.c_str()) != 0 || nbd_connect_unix(h.get(), socket_.c_str()) != 0)
    throw Error("cannot connect to nbdkit (export '" + exportname + "'): " + nbd_get_error(), EIO);
  return h;
}

}  // namespace hexz
