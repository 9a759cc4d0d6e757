// Maps two disks (partition tables and filesystems, common/fs) at once,
// every parser in a sandboxed worker (fs/sandbox.h).
#pragma once
#include "fs/fsmap.h"
#include "fs/sandbox.h"

namespace hexz {

// A and B open their disk in the worker (a new connection each).  The two
// disks' workers run at the same time.  Throws Error when a disk itself
// cannot be read (A's if both fail).
void map_both(const fs::DiskOpener &a, const fs::DiskOpener &b, fs::DiskMap &ma, fs::DiskMap &mb,
              unsigned parser_timeout);

}  // namespace hexz
