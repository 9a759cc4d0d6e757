// hexz-mount: a snapshot as files (MOUNTPOINT/disk and MOUNTPOINT/memory)
// through FUSE, or as /dev/nbdN with --nbd.  The snapshot is served by
// "nbdkit hexz" (plus the hexz-cow filter for --rw) on a private socket; this
// process turns FUSE requests into NBD requests on a few connections.

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "error.h"
#include "format.h"
#include "mount-fuse.h"
#include "mount-log.h"
#include "mount-nbd.h"
#include "mount-pool.h"
#include "mount-table.h"
#include "nbdkit-server.h"
#include "options.h"
#include "overlay-lock.h"
#include "overlay-meta.h"
#include "process.h"
#include "snapshot.h"
#include "unique-fd.h"
#include "util.h"

using namespace hexz;

static const char *const PROG = "hexz-mount";

// Connections per export: enough requests in flight for the plugin's
// threads without starving the other export.
static const unsigned DISK_CONNECTIONS = 4, MEMORY_CONNECTIONS = 2;

static void help() {
  printf(
      "hexz-mount: show a .st snapshot as files (MOUNTPOINT/disk, MOUNTPOINT/memory)\n"
      "\n"
      "Usage: hexz-mount [OPTIONS] SNAPSHOT.st MOUNTPOINT\n"
      "       hexz-mount --nbd [OPTIONS] SNAPSHOT.st /dev/nbdN\n"
      "Unmount with: hexz-unmount MOUNTPOINT (or Ctrl+C, or SIGTERM)\n"
      "\n"
      "Options:\n"
      "  -w, --rw               allow writes to disk, kept in a copy-on-write overlay\n"
      "                         (ephemeral, removed at unmount, unless --overlay is given)\n"
      "      --overlay=PATH     keep the writes in the overlay PATH (with --rw)\n"
      "  -d, --daemon           return once mounted, serve in the background\n"
      "      --cache-size=SIZE  block cache of the hexz plugin (e.g. 256M)\n"
      "      --uid=N            owner of the files (default: you)\n"
      "      --gid=N            group of the files (default: your group)\n"
      "      --nbd              expose the disk as a kernel NBD device instead of FUSE\n"
      "  -h, --help             show this help\n"
      "  -V, --version          show the version\n"
      "\n"
      "Exit status: 0 unmounted cleanly (or --daemon: mounted), 1 error,\n"
      "2 usage error or --nbd without the nbd kernel module.\n");
}

namespace {

struct Options {
  std::string snapshot, mountpoint, overlay, cache_size;
  bool rw = false, daemon = false, nbd = false;
  uid_t uid = getuid();
  gid_t gid = getgid();
};

unsigned long parse_id(const char *s, const char *what) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (!*s || *end || errno || v >= UINT_MAX || s[0] == '-')
    usage_error(PROG, std::string(what) + ": not a numeric id: '" + s + "'");
  return v;
}

Options parse(int argc, char **argv) {
  enum { OPT_OVERLAY = 256, OPT_CACHE, OPT_UID, OPT_GID, OPT_NBD };
  static const struct option longopts[] = {
      {"rw", no_argument, nullptr, 'w'},           {"overlay", required_argument, nullptr, OPT_OVERLAY},
      {"daemon", no_argument, nullptr, 'd'},       {"cache-size", required_argument, nullptr, OPT_CACHE},
      {"uid", required_argument, nullptr, OPT_UID}, {"gid", required_argument, nullptr, OPT_GID},
      {"nbd", no_argument, nullptr, OPT_NBD},      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},      {nullptr, 0, nullptr, 0}};
  Options o;
  int c;
  while ((c = next_option(PROG, argc, argv, "wdhV", longopts)) != -1) {
    switch (c) {
      case 'w': o.rw = true; break;
      case 'd': o.daemon = true; break;
      case OPT_OVERLAY: o.overlay = optarg; break;
      case OPT_CACHE:
        try {
          o.cache_size = std::to_string(parse_size(optarg, "--cache-size"));
        } catch (const Error &e) {
          usage_error(PROG, e.what());
        }
        break;
      case OPT_UID: o.uid = uid_t(parse_id(optarg, "--uid")); break;
      case OPT_GID: o.gid = gid_t(parse_id(optarg, "--gid")); break;
      case OPT_NBD: o.nbd = true; break;
      case 'h': help(); exit(EXIT_OK);
      case 'V': print_version(PROG); exit(EXIT_OK);
      default: usage_error(PROG, "unknown option");
    }
  }
  if (argc - optind != 2) usage_error(PROG, "expected SNAPSHOT.st and MOUNTPOINT");
  o.snapshot = absolute_path(argv[optind]);
  o.mountpoint = absolute_path(argv[optind + 1]);
  if (!o.overlay.empty() && !o.rw) usage_error(PROG, "--overlay needs --rw");
  if (!o.overlay.empty()) o.overlay = absolute_path(o.overlay);
  return o;
}

// --daemon: the parent waits on this pipe for the child's start-up result.
int status_fd = -1;

void detach() {
  if (status_fd < 0) return;
  unsigned char ok = 0;
  if (write(status_fd, &ok, 1) != 1) _exit(1);  // the parent is gone
  close(status_fd);
  status_fd = -1;
  mount_log_detach();
  if (UniqueFd null{open("/dev/null", O_RDWR | O_CLOEXEC)})
    for (int std_fd : {0, 1, 2}) dup2(null.get(), std_fd);
  if (chdir("/") != 0) {
  }
}

// The private directory of an ephemeral overlay, removed with its contents.
void remove_dir(const std::string &dir) {
  if (DIR *d = opendir(dir.c_str())) {
    while (struct dirent *e = readdir(d))
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) unlink((dir + "/" + e->d_name).c_str());
    closedir(d);
  }
  if (rmdir(dir.c_str()) != 0) mount_log("cannot remove the ephemeral overlay " + dir + ": " + strerror(errno));
}

// Serves until unmounted; returns the exit status.
int run(const Options &o, bool has_memory, time_t created) {
  std::string ephemeral;
  int rc = EXIT_OK;
  std::thread relay_thread;
  try {
    ServeOptions so;
    so.snapshot = o.snapshot;
    so.readonly = !o.rw;
    so.own_process_group = true;
    if (o.rw) {
      if (o.overlay.empty()) {
        ephemeral = make_temp_dir(temp_dir(), "hexz-mount");
        so.overlay = ephemeral + "/disk.overlay";
      } else {
        so.overlay = o.overlay;
      }
    }
    if (!o.cache_size.empty()) so.params.push_back("cache-size=" + o.cache_size);
    UniqueFd relay_in;  // nbdkit's end of the relay, closed here once nbdkit has it
    if (o.daemon) {
      // nbdkit's messages must outlive our standard error: relay them.
      int relay[2];
      if (pipe2(relay, O_CLOEXEC) != 0) throw_errno("pipe");
      relay_in.reset(relay[1]);
      so.stderr_fd = relay[1];
      relay_thread = mount_log_relay(relay[0]);
    }
    auto server = std::make_unique<NbdkitServer>(so);
    relay_in.reset();

    if (o.nbd) {
      serve_nbd(*server, o.mountpoint, !o.rw, detach);
    } else {
      HandlePool disk(*server, "", DISK_CONNECTIONS);
      std::unique_ptr<HandlePool> memory;
      if (has_memory) memory = std::make_unique<HandlePool>(*server, "memory", MEMORY_CONNECTIONS);
      MountConfig cfg;
      cfg.mountpoint = o.mountpoint;
      cfg.fsname = "hexz:" + o.snapshot;
      cfg.files.push_back({"disk", &disk});
      if (memory) cfg.files.push_back({"memory", memory.get()});
      cfg.uid = o.uid;
      cfg.gid = o.gid;
      cfg.mtime = created;
      cfg.readonly = !o.rw;
      serve_fuse(cfg, detach);
      // Unmounted: make every write durable before nbdkit goes.
      if (disk.close() != 0) rc = EXIT_FAILURE_;
      if (memory && memory->close() != 0) rc = EXIT_FAILURE_;
    }
    server->stop();
  } catch (const Error &e) {
    mount_log(e.what());
    rc = EXIT_FAILURE_;
  } catch (const std::exception &e) {
    mount_log(exception_message(e));
    rc = EXIT_FAILURE_;
  }
  if (relay_thread.joinable()) relay_thread.join();
  if (!ephemeral.empty()) remove_dir(ephemeral);
  if (status_fd >= 0) {  // failed before detaching: tell the waiting parent
    unsigned char code = (unsigned char)rc;
    if (write(status_fd, &code, 1) != 1) {
    }
  }
  return rc;
}

// The --daemon parent: returns the exit status once the child is mounted
// (0) or has failed (its message is already on standard error).
int wait_for_child(pid_t child, int fd, const std::string &mountpoint, bool nbd) {
  unsigned char code;
  ssize_t n;
  while ((n = read(fd, &code, 1)) < 0 && errno == EINTR) {
  }
  if (n == 1 && code != 0) {
    wait_program(child);
    return code;
  }
  if (n != 1) {
    wait_program(child);
    fprintf(stderr, "%s: the background process died while mounting\n", PROG);
    return EXIT_FAILURE_;
  }
  if (!nbd) {
    // The child is serving: the first access goes through its FUSE loop.
    struct stat st;
    if (stat((mountpoint + "/disk").c_str(), &st) != 0) {
      fprintf(stderr, "%s: %s/disk: %s\n", PROG, mountpoint.c_str(), strerror(errno));
      return EXIT_FAILURE_;
    }
  }
  return EXIT_OK;
}

}  // namespace

static int tool_main(int argc, char **argv) {
  Options o = parse(argc, argv);
  if (o.nbd) {
    std::string why;
    if (!nbd_module_available(why)) {
      fprintf(stderr, "%s: %s\n", PROG, why.c_str());
      return EXIT_USAGE;
    }
  }
  // Open the snapshot here (header, sections, index, parent chain; no block
  // is decoded) so that a bad file is reported plainly, before anything
  // starts and before --daemon detaches.
  bool has_memory;
  time_t created;
  try {
    if (!o.overlay.empty()) check_overlay_name(o.overlay);  // the filter would refuse it too, less plainly
    auto snap = Snapshot::open(o.snapshot);
    has_memory = snap->has_stream(StreamId::MEMORY);
    created = time_t(snap->header().created);
  } catch (const Error &e) {
    fprintf(stderr, "%s: %s\n", PROG, e.what());
    return EXIT_FAILURE_;
  }
  if (!o.nbd) {
    struct stat st;
    if (stat(o.mountpoint.c_str(), &st) != 0) {
      fprintf(stderr, "%s: mount point %s: %s\n", PROG, o.mountpoint.c_str(), strerror(errno));
      return EXIT_FAILURE_;
    }
    if (!S_ISDIR(st.st_mode)) {
      fprintf(stderr, "%s: mount point %s is not a directory\n", PROG, o.mountpoint.c_str());
      return EXIT_FAILURE_;
    }
    // A second FUSE mount would hide the first one (and its overlay's
    // writes) under it, and hexz-unmount would only take the top one off.
    std::string type = mount_type(resolved_path(o.mountpoint));
    if (!type.empty()) {
      std::string how = type == "fuse.hexz" ? " (hexz-unmount " + o.mountpoint + ")" : "";
      fprintf(stderr, "%s: %s is already a mount point (%s); unmount it first%s, or choose another directory\n",
              PROG, o.mountpoint.c_str(), type.c_str(), how.c_str());
      return EXIT_FAILURE_;
    }
  }
  // An overlay another nbdkit serves: say who, before anything starts.
  if (!o.overlay.empty()) {
    try {
      check_overlay_free(o.overlay);
    } catch (const Error &e) {
      fprintf(stderr, "%s: %s\n", PROG, e.what());
      return EXIT_FAILURE_;
    }
  }
  if (!o.daemon) return run(o, has_memory, created);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    fprintf(stderr, "%s: pipe: %s\n", PROG, strerror(errno));
    return EXIT_FAILURE_;
  }
  fflush(nullptr);
  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "%s: fork: %s\n", PROG, strerror(errno));
    return EXIT_FAILURE_;
  }
  if (child > 0) {
    close(fds[1]);
    return wait_for_child(child, fds[0], o.mountpoint, o.nbd);
  }
  close(fds[0]);
  status_fd = fds[1];
  // A daemon must not keep its caller's pipes open (a shell's $(...), a
  // test harness): keep only standard I/O, redirected once mounted.
  if (status_fd > 3) close_range(3, status_fd - 1, 0);
  close_range(status_fd + 1, ~0U, 0);
  setsid();  // no terminal signals, and no controlling terminal
  return run(o, has_memory, created);
}

int main(int argc, char **argv) { return run_tool(PROG, tool_main, argc, argv); }
