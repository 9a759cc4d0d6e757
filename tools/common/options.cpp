#include "options.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

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
