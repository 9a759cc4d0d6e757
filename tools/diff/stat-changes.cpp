#include "stat-changes.h"

namespace hexz {

std::vector<std::string> stat_changes(const fs::Node &a, const fs::Node &b, const StatRule &r) {
  std::vector<std::string> f;
  const bool dirs = a.type == 'd' && b.type == 'd';
  if (r.inode && a.inode != b.inode) f.push_back("st_ino");
  if (a.type != b.type || a.mode != b.mode) f.push_back("st_mode");
  if (a.nlink != b.nlink && (!dirs || r.dir_links)) f.push_back("st_nlink");
  if (a.uid != b.uid) f.push_back("st_uid");
  if (a.gid != b.gid) f.push_back("st_gid");
  if (a.size != b.size) f.push_back("st_size");
  if (a.mtime != b.mtime && (!dirs || r.dir_times)) f.push_back("st_mtime_sec");
  if (r.ctime && a.ctime != b.ctime && (!dirs || r.dir_times)) f.push_back("st_ctime_sec");
  if (a.type == 'l' && b.type == 'l' && a.link != b.link) f.push_back("link");
  return f;
}

}  // namespace hexz
