#include "options.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <getopt.h>
#include <new>

#include "config.h"
#include "error.h"
#include "format.h"
#include "util.h"

namespace hexz {

void print_version(const char *program) { printf("%s %s\n", program, PACKAGE_VERSION); }

void usage_error(const char *program, const std::string &msg) {
  fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", program, msg.c_str(), program);
  exit(EXIT_USAGE);
}

void getopt_error(const char *program, int c, char **argv) {
  // A long option is named as given (argv[optind - 1]); a short one by
  // optopt, since it may sit inside a cluster such as -pxb.
  const char *arg = optind > 0 ? argv[optind - 1] : "";
  const bool is_long = strncmp(arg, "--", 2) == 0;
  const std::string opt = is_long ? std::string(arg, strcspn(arg, "=")) : std::string("-") + char(optopt);
  if (c == ':') usage_error(program, "option '" + opt + "' needs an argument");
  usage_error(program, (is_long ? "unrecognized option '" : "invalid option '") + opt + "'");
}

bool parse_output(const char *program, const char *arg) {
  if (strcmp(arg, "json") == 0) return true;
  if (strcmp(arg, "human") == 0) return false;
  usage_error(program, std::string("--output must be 'json' or 'human', not '") + arg + "'");
}

std::string exception_message(const std::exception &e) {
  if (dynamic_cast<const std::bad_alloc *>(&e))
    return "out of memory (an input may claim sizes larger than it holds, or the machine is short of memory)";
  return e.what();
}

int run_tool(const char *program, int (*main)(int, char **), int argc, char **argv) {
  try {
    return main(argc, argv);
  } catch (const std::exception &e) {
    fprintf(stderr, "%s: %s\n", program, exception_message(e).c_str());
  } catch (...) {
    fprintf(stderr, "%s: unexpected exception\n", program);
  }
  return EXIT_FAILURE_;
}

int next_option(const char *program, int argc, char **argv, const char *shortopts, const struct option *longopts) {
  opterr = 0;
  const std::string opts = std::string(":") + shortopts;  // ':' tells a missing argument apart
  int c = getopt_long(argc, argv, opts.c_str(), longopts, nullptr);
  if (c == '?' || c == ':') getopt_error(program, c, argv);
  return c;
}

static long parse_long(const char *program, const char *arg, long lo, long hi, const char *what) {
  char *end;
  errno = 0;
  long v = strtol(arg, &end, 10);
  if (end == arg || *end || errno || v < lo || v > hi)
    usage_error(program, std::string("invalid ") + what + " '" + arg + "' (" + std::to_string(lo) + " to " +
                             std::to_string(hi) + ")");
  return v;
}

int parse_level(const char *program, const char *arg) { return int(parse_long(program, arg, 1, 22, "level")); }

unsigned parse_threads(const char *program, const char *arg) {
  return unsigned(parse_long(program, arg, 1, 1024, "thread count"));
}

uint32_t parse_block_size(const char *program, const char *arg) {
  uint64_t bs = 0;
  try {
    bs = parse_size(arg, "block size");
  } catch (const Error &e) {
    usage_error(program, e.what());
  }
  if (!valid_block_size(bs)) usage_error(program, std::string("block size '") + arg + "' is not a power of two from 4K to 1M");
  return uint32_t(bs);
}

}  // namespace hexz
