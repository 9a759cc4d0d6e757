#include "map-both.h"

namespace hexz {

void map_both(const fs::DiskOpener &a, const fs::DiskOpener &b, fs::DiskMap &ma, fs::DiskMap &mb,
              unsigned parser_timeout) {
  fs::SandboxLimits lim;
  lim.timeout = parser_timeout;
  auto maps = fs::map_disks_sandboxed({a, b}, lim);
  ma = std::move(maps[0]);
  mb = std::move(maps[1]);
}

}  // namespace hexz
