#include "process-name.h"

#include <algorithm>
#include <fstream>
#include <iterator>

namespace hexz {

std::string describe_process(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream in(dir + "/cmdline");
  std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!cmd.empty() && cmd.back() == '\0') cmd.pop_back();
  std::replace(cmd.begin(), cmd.end(), '\0', ' ');
  if (cmd.empty()) {
    std::ifstream comm(dir + "/comm");
    std::getline(comm, cmd);
  }
  if (cmd.size() > 60) cmd = cmd.substr(0, 57) + "...";
  return "pid " + std::to_string(pid) + (cmd.empty() ? "" : " (" + cmd + ")");
}

}  // namespace hexz
