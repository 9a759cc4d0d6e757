// hexz-unmount: unmount what hexz-mount mounted, and wait until the
// hexz-mount process has flushed its overlay and stopped nbdkit.

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <getopt.h>
#include <signal.h>
#include <sstream>
#include <string>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "error.h"
#include "mount-fuse.h"
#include "process.h"
#include "options.h"
#include "util.h"

using namespace hexz;

static const char *const PROG = "hexz-unmount";

static void help() {
  printf(
      "hexz-unmount: unmount a snapshot mounted by hexz-mount\n"
      "\n"
      "Usage: hexz-unmount MOUNTPOINT\n"
      "       hexz-unmount /dev/nbdN      (a hexz-mount --nbd device)\n"
      "\n"
      "Returns once hexz-mount has flushed the overlay and stopped.\n"
      "\n"
      "Options:\n"
      "  -h, --help     show this help\n"
      "  -V, --version  show the version\n"
      "\n"
      "Exit status: 0 unmounted, 1 error (not a hexz mount, busy, ...), 2 usage error.\n");
}

[[noreturn]] static void die(const std::string &msg) {
  fprintf(stderr, "%s: %s\n", PROG, msg.c_str());
  exit(EXIT_FAILURE_);
}

// /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo.
static std::string unescape(const std::string &s) {
  std::string o;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 3 < s.size() && isdigit((unsigned char)s[i + 1])) {
      o += char(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      o += s[i];
    }
  }
  return o;
}

// The file system type mounted on PATH (the topmost mount), or "".
static std::string mount_type(const std::string &path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line, type;
  while (std::getline(in, line)) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER
    std::istringstream f(line);
    std::string id, parent, dev, root, mp, field;
    f >> id >> parent >> dev >> root >> mp;
    if (unescape(mp) != path) continue;
    while (f >> field && field != "-") {
    }
    f >> type;
  }
  return type;
}

static int run(const std::vector<std::string> &args, const std::string &package) {
  try {
    return wait_program(spawn_program(args, {.package = package}));
  } catch (const Error &e) {
    die(e.what());
  }
}

// A process that has exited but not been reaped yet (a zombie) is gone too.
static bool running(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  size_t p = stat.rfind(')');
  return p != std::string::npos && p + 2 < stat.size() && stat[p + 2] != 'Z';
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"help", no_argument, nullptr, 'h'}, {"version", no_argument, nullptr, 'V'}, {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "hV", longopts, nullptr)) != -1) {
    switch (c) {
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
  if (!stale) {
    if (char *real = realpath(path.c_str(), nullptr)) {
      path = real;
      free(real);
    }
  }
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

  if (geteuid() == 0) {
    if (umount2(path.c_str(), 0) != 0) {
      if (errno == EBUSY) die(path + " is busy: a program still uses a file in it (close it and retry)");
      die("cannot unmount " + path + ": " + strerror(errno));
    }
  } else if (run({"fusermount3", "-u", path}, "fuse3") != 0) {
    die("fusermount3 -u " + path + " failed (its message is above)");
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
