// Checking where a tool will write, before it does any work: a pack or a
// diff may take minutes, and must not end in a failed rename or, worse, in
// an input replaced by its own output.
#pragma once
#include <string>
#include <vector>

namespace hexz {

// Throws Error (EINVAL, or the errno) naming OUTPUT unless a new file may be
// written there: OUTPUT must not be an existing directory (or end in '/'),
// its directory must exist and be writable, it must not be any of INPUTS
// (compared with same_file, so symlinks and hard links count; NBD URIs and
// empty strings among INPUTS are skipped), and it must not exist already
// unless FORCE (-f/--force).
void check_output(const std::string &output, const std::vector<std::string> &inputs, bool force);

}  // namespace hexz
