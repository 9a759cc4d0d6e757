// hexz-unmount: unmount what hexz-mount mounted, and wait until the
// hexz-mount process has flushed its overlay and stopped nbdkit.  A busy
// mount is retried for a few seconds (the last user of a file often closes
// it a moment after its own unmount returned, as fuse2fs does), then the
// error names the processes still holding files in it.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fstream>
#include <getopt.h>
#include <signal.h>
#include <string>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "error.h"
#include "mount-fuse.h"
#include "mount-table.h"
#include "process.h"
#include "process-name.h"
#include "options.h"
#include "util.h"

using namespace hexz;

static const char *const PROG = "hexz-unmount";

static void help() {
  printf(
      "hexz-unmount: unmount a snapshot mounted by hexz-mount\n"
      "\n"
      "Usage: hexz-unmount [-t SECONDS] MOUNTPOINT\n"
      "       hexz-unmount /dev/nbdN      (a hexz-mount --nbd device)\n"
      "\n"
      "Returns once hexz-mount has flushed the overlay and stopped.\n"
      "\n"
      "Options:\n"
      "  -t, --timeout=SECONDS  how long to wait while the mount is busy (default 5)\n"
      "  -h, --help             show this help\n"
      "  -V, --version          show the version\n"
      "\n"
      "Exit status: 0 unmounted, 1 error (not a hexz mount, busy, ...), 2 usage error.\n");
}

[[noreturn]] static void die(const std::string &msg) {
  fprintf(stderr, "%s: %s\n", PROG, msg.c_str());
  exit(EXIT_FAILURE_);
}

static int run(const std::vector<std::string> &args, const std::string &package) {
  try {
    return wait_program(spawn_program(args, {.package = package}));
  } catch (const Error &e) {
    die(e.what());
  }
}

// True if PATH (a /proc link's target) is DIR or lies under it.
static bool under(const std::string &path, const std::string &dir) {
  return path.compare(0, dir.size(), dir) == 0 && (path.size() == dir.size() || path[dir.size()] == '/');
}

static std::string read_link(const std::string &link) {
  char buf[PATH_MAX];
  ssize_t n = readlink(link.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

// The processes using something under DIR, as fuser -m finds them: an open
// file, the current or root directory, the executable or a mapped file.
// Only /proc's links are read, never the mount itself (which may hang).
static std::vector<std::string> holders(const std::string &dir) {
  std::vector<std::pair<long, std::string>> found;
  DIR *proc = opendir("/proc");
  if (!proc) return {};
  while (struct dirent *e = readdir(proc)) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == long(getpid())) continue;
    std::string base = std::string("/proc/") + e->d_name;
    bool holds = under(read_link(base + "/cwd"), dir) || under(read_link(base + "/root"), dir) ||
                 under(read_link(base + "/exe"), dir);
    if (!holds) {
      if (DIR *fds = opendir((base + "/fd").c_str())) {
        while (struct dirent *f = readdir(fds)) {
          if (f->d_name[0] != '.' && under(read_link(base + "/fd/" + f->d_name), dir)) {
            holds = true;
            break;
          }
        }
        closedir(fds);
      }
    }
    if (!holds) {
      // ADDRESS PERMS OFFSET DEV INODE PATHNAME: only the path has a '/'.
      std::ifstream maps(base + "/maps");
      std::string line;
      while (!holds && std::getline(maps, line)) {
        size_t slash = line.find('/');
        holds = slash != std::string::npos && under(line.substr(slash), dir);
      }
    }
    if (holds) found.emplace_back(pid, describe_process(pid_t(pid)));
  }
  closedir(proc);
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto &f : found) out.push_back(f.second);
  return out;
}

[[noreturn]] static void die_busy(const std::string &path) {
  std::vector<std::string> users = holders(path);
  if (users.empty())
    die(path + " is busy, but no process has a file open in it that this user can see (another mount inside it?)");
  std::string list;
  for (auto &u : users) list += (list.empty() ? "" : ", ") + u;
  die(path + " is busy: still used by " + list + "; close those files and retry");
}

// One unmount attempt: 0 if unmounted, EBUSY if busy; dies on other errors.
// fusermount3 is not run while this user's own processes visibly hold files
// in it (each failed attempt would print its error).
static int try_unmount(const std::string &path) {
  if (geteuid() == 0) {
    if (umount2(path.c_str(), 0) == 0) return 0;
    if (errno == EBUSY) return EBUSY;
    die("cannot unmount " + path + ": " + strerror(errno));
  }
  if (!holders(path).empty()) return EBUSY;
  if (run({"fusermount3", "-u", path}, "fuse3") != 0) die("fusermount3 -u " + path + " failed (its message is above)");
  return 0;
}

// A process that has exited but not been reaped yet (a zombie) is gone too.
static bool running(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  size_t p = stat.rfind(')');
  return p != std::string::npos && p + 2 < stat.size() && stat[p + 2] != 'Z';
}

static int tool_main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"timeout", required_argument, nullptr, 't'},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},
      {nullptr, 0, nullptr, 0}};
  double timeout = 5;
  int c;
  while ((c = next_option(PROG, argc, argv, "t:hV", longopts)) != -1) {
    switch (c) {
      case 't': {
        char *end;
        timeout = strtod(optarg, &end);
        if (end == optarg || *end != '\0' || !std::isfinite(timeout) || timeout < 0 || timeout > 3600)
          usage_error(PROG, std::string("--timeout: '") + optarg + "' is not a number of seconds from 0 to 3600");
        break;
      }
      case 'h': help(); return EXIT_OK;
      case 'V': print_version(PROG); return EXIT_OK;
      default: usage_error(PROG, "unknown option");
    }
  }
  if (argc - optind != 1) usage_error(PROG, "expected MOUNTPOINT");
  std::string path = absolute_path(argv[optind]);

  struct stat st;
  // ENOTCONN: the serving process died; the stale mount can still go.
  bool stale = false;
  if (stat(path.c_str(), &st) != 0) {
    if (errno != ENOTCONN) die(path + ": " + strerror(errno));
    stale = true;
  }
  if (!stale && S_ISBLK(st.st_mode)) {
    // hexz-mount --nbd: disconnecting the device makes it flush and exit.
    if (run({"nbd-client", "-d", path}, "nbd-client") != 0) die("nbd-client -d " + path + " failed (its message is above)");
    return EXIT_OK;
  }

  // /proc/self/mountinfo has the path with symbolic links resolved.
  if (!stale) path = resolved_path(path);
  std::string type = mount_type(path);
  if (type.empty()) die(path + " is not mounted");
  if (type != "fuse.hexz") die(path + " is not a hexz-mount mount point (it is a " + type + " mount)");

  // Which hexz-mount serves it, so that we can wait for its flush (read
  // and closed before unmounting, or the mount would be busy).
  pid_t pid = 0;
  {
    std::ifstream in(path + "/" + MOUNT_PID_FILE);
    long p = 0;
    if (in >> p && p > 0) pid = pid_t(p);
  }

  // Busy: retry until TIMEOUT, saying so after the first second.
  auto start = std::chrono::steady_clock::now();
  bool told = false;
  while (try_unmount(path) == EBUSY) {
    double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (waited >= timeout) die_busy(path);
    if (!told && waited >= 1) {
      fprintf(stderr, "%s: %s is busy; waiting up to %gs for the programs using it to close their files...\n", PROG,
              path.c_str(), timeout);
      told = true;
    }
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }

  if (pid > 0) {
    bool warned = false;
    for (int i = 0; running(pid); i++) {
      if (i == 500 && !warned) {
        fprintf(stderr, "%s: waiting for hexz-mount (pid %d) to flush and stop...\n", PROG, int(pid));
        warned = true;
      }
      struct timespec ts = {0, 20 * 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
  }
  return EXIT_OK;
}

int main(int argc, char **argv) { return run_tool(PROG, tool_main, argc, argv); }
