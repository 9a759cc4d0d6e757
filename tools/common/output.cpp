#include "output.h"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "nbd-source.h"
#include "same-file.h"
#include "util.h"

namespace hexz {

void check_output(const std::string &output, const std::vector<std::string> &inputs, bool force) {
  if (output.empty()) throw Error("the output file name is empty", EINVAL);
  for (const std::string &in : inputs)
    if (!in.empty() && !is_nbd_uri(in) && same_file(output, in))
      throw Error(output + ": refusing to overwrite the input " + in + " (the output is the same file)", EINVAL);
  struct stat st;
  if (output.back() == '/' || (stat(output.c_str(), &st) == 0 && S_ISDIR(st.st_mode)))
    throw Error(output + ": the output is a directory; name the file to write (e.g. " +
                    (output.back() == '/' ? output : output + "/") + "NAME.st)",
                EISDIR);
  const std::string dir = dir_name(output);
  if (stat(dir.c_str(), &st) != 0) throw_errno(output + ": the output's directory " + dir);
  if (!S_ISDIR(st.st_mode)) throw Error(output + ": " + dir + " is not a directory", ENOTDIR);
  // The output is written as a temporary file in its directory, then renamed.
  if (access(dir.c_str(), W_OK | X_OK) != 0)
    throw_errno(output + ": cannot create files in the output's directory " + dir);
  if (lstat(output.c_str(), &st) == 0 && !force)
    throw Error(output + ": the output exists already (-f/--force replaces it)", EEXIST);
}

}  // namespace hexz
