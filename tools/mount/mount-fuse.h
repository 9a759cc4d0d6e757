// hexz-mount's FUSE file system: a directory holding one regular file per
// export ("disk", and "memory" when the snapshot has one), served by the
// multi-threaded libfuse3 loop through HandlePools.
#pragma once
#include <ctime>
#include <string>
#include <sys/types.h>
#include <vector>

namespace hexz {

class HandlePool;

// A file that readdir does not list, holding the serving process's PID
// (for hexz-unmount, which waits for that process to finish).
inline constexpr const char *MOUNT_PID_FILE = ".hexz-mount.pid";

struct MountFile {
  std::string name;
  HandlePool *pool;
};

struct MountConfig {
  std::string mountpoint;       // absolute
  std::string fsname;           // shown by df and /proc/mounts
  std::vector<MountFile> files;
  uid_t uid = 0;
  gid_t gid = 0;
  time_t mtime = 0;
  bool readonly = true;
};

// Mounts, then calls READY() (which may detach from the terminal), then
// serves until unmounted or SIGTERM/SIGINT/SIGHUP.  Returns once unmounted;
// throws Error if the mount cannot be made.
void serve_fuse(const MountConfig &cfg, void (*ready)());

}  // namespace hexz
