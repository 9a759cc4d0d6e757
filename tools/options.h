// Shared command-line conventions of the hexz tools: --help/--version output
// and exit codes.
#pragma once
#include <string>

namespace hexz {

// Exit codes shared by every tool (documented in each man page).
enum ExitCode { EXIT_OK = 0, EXIT_FAILURE_ = 1, EXIT_USAGE = 2 };

// Prints "PROGRAM VERSION" (for --version).
void print_version(const char *program);
// Prints "PROGRAM: MSG\nTry 'PROGRAM --help' for more information." and exits 2.
[[noreturn]] void usage_error(const char *program, const std::string &msg);

}  // namespace hexz
