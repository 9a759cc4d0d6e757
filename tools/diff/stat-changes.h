// Which stat fields of a file differ between two views, with virt-diff's
// field names (st_mode, st_nlink, st_uid, st_gid, st_size, st_mtime_sec,
// st_ctime_sec, st_ino, link).  One rule for both modes of hexz-diff; what
// differs between them is said in StatRule, with the reason.
#pragma once
#include <string>
#include <vector>

#include "fs/fsmap.h"

namespace hexz {

struct StatRule {
  // st_ino: the overlay's before and after views are one filesystem seen
  // twice, so an inode number that changed means the file was replaced;
  // two independently built images number their files differently.
  bool inode = false;
  // st_nlink and the times of directories, which only say that entries
  // were added or removed (virt-diff ignores them unless --dir-links /
  // --dir-times).
  bool dir_links = false, dir_times = false;
  // st_ctime_sec: it changes on every chmod, link or copy; compared (and
  // shown) only with --times.
  bool ctime = false;
};

// The rule of the overlay mode (which has no --dir-* or --times options):
// inode numbers and directory times are compared, directory link counts
// are not.
inline StatRule overlay_stat_rule() {
  StatRule r;
  r.inode = true;
  r.dir_times = true;
  return r;
}

// The fields that differ from A to B, in virt-diff's order.
std::vector<std::string> stat_changes(const fs::Node &a, const fs::Node &b, const StatRule &r);

}  // namespace hexz
