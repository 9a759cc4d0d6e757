#include "options.h"

#include <cstdio>
#include <cstdlib>

#include "config.h"

namespace hexz {

void print_version(const char *program) { printf("%s %s\n", program, PACKAGE_VERSION); }

void usage_error(const char *program, const std::string &msg) {
  fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", program, msg.c_str(), program);
  exit(EXIT_USAGE);
}

}  // namespace hexz
