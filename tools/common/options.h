// Shared command-line conventions of the hexz tools: --help/--version output
// and exit codes.
#pragma once
#include <cstdint>
#include <exception>
#include <string>

struct option;

namespace hexz {

// Exit codes shared by every tool (documented in each man page).
// EXIT_INCOMPLETE: the tool ran to the end but something could not be read
// (hexz-diff: a partition table or filesystem), so its answer is partial.
enum ExitCode { EXIT_OK = 0, EXIT_FAILURE_ = 1, EXIT_USAGE = 2, EXIT_INCOMPLETE = 3 };

// Prints "PROGRAM VERSION" (for --version).
void print_version(const char *program);
// Prints "PROGRAM: MSG\nTry 'PROGRAM --help' for more information." and exits 2.
[[noreturn]] void usage_error(const char *program, const std::string &msg);

// After getopt_long returned C ('?' or ':', with opterr = 0 and an option
// string starting with ':'): one message naming the option, then exit 2.
// (getopt's own message and a second one made two error lines.)
[[noreturn]] void getopt_error(const char *program, int c, char **argv);
// --output=FORMAT, qemu-img's spelling: true for "json", false for "human".
bool parse_output(const char *program, const char *arg);
// getopt_long with getopt_error: returns the next option, or -1 at the end;
// a bad option never comes back (one error line, exit 2).
int next_option(const char *program, int argc, char **argv, const char *shortopts, const struct option *longopts);

// Runs a tool's real main, MAIN, so that no exception ever ends the tool with
// abort(): std::bad_alloc prints "PROGRAM: out of memory ...", any other
// exception its message, and the exit status is 1.  Every tool's main()
// is "return run_tool(PROG, tool_main, argc, argv);".
int run_tool(const char *program, int (*main)(int, char **), int argc, char **argv);
// What to print for E: its message, or for std::bad_alloc a sentence.
std::string exception_message(const std::exception &e);

// Option values shared by hexz-pack and hexz-commit; each exits with a usage
// error naming the bad value.
int parse_level(const char *program, const char *arg);             // -l: 1 to 22
uint32_t parse_block_size(const char *program, const char *arg);   // -b: 4K to 1M, power of two
unsigned parse_threads(const char *program, const char *arg);      // -j: 1 to 1024

}  // namespace hexz
