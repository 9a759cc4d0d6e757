// Refusing an output that would replace an input starts with one question:
// do two paths name the same file?
#pragma once
#include <string>

namespace hexz {

// Whether paths A and B name the same file.  When both exist: the same
// inode (st_dev and st_ino), so symlinks, hard links and other spellings
// of one file count as the same.  When either does not exist (an output
// not written yet): the same absolute, lexically normalised path.
bool same_file(const std::string &a, const std::string &b);

}  // namespace hexz
