// Maps two disks (partition tables and filesystems, common/fs) at once.
#pragma once
#include "fs/fsmap.h"

namespace hexz {

class Source;

// A is mapped on a thread of its own while B is mapped here: the two are
// independent and each mostly waits on its own nbdkit.  Rethrows an
// error once both are done (B's if both fail).
void map_both(Source &a, Source &b, fs::DiskMap &ma, fs::DiskMap &mb);

}  // namespace hexz
