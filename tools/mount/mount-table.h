// What is mounted where, from /proc/self/mountinfo: hexz-unmount checks that
// it unmounts a hexz mount, hexz-mount that it does not stack a mount on one.
#pragma once
#include <string>

namespace hexz {

// The file system type of the topmost mount on PATH (an absolute path with
// symbolic links resolved, as mountinfo has it), e.g. "fuse.hexz"; "" if
// nothing is mounted there.
std::string mount_type(const std::string &path);

// PATH with symbolic links resolved (realpath), or PATH itself if that
// fails (a stale FUSE mount cannot be resolved, but is still in mountinfo).
std::string resolved_path(const std::string &path);

}  // namespace hexz
