#include "same-file.h"

#include <sys/stat.h>

#include "util.h"

namespace hexz {

bool same_file(const std::string &a, const std::string &b) {
  struct stat sa, sb;
  if (stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  return absolute_path(a) == absolute_path(b);
}

}  // namespace hexz
