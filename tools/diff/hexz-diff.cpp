// hexz-diff: what an overlay changed, down to the files.
//
//   hexz-diff OVERLAY [--blocks | --files] [--base SNAPSHOT] [--meta PATH] [--json]
//
// Image mode (hexz-diff -b BASE MODIFIED ...) is a separate program part
// (image-diff.cpp); main() only routes to it.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <getopt.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "error.h"
#include "format.h"
#include "image-diff.h"
#include "json.h"
#include "options.h"
#include "overlay-files.h"
#include "overlay-meta.h"
#include "unique-fd.h"
#include "util.h"

using namespace hexz;

static const char *const PROG = "hexz-diff";

static void help() {
  printf(
      "hexz-diff: show what an overlay changed, down to the files\n"
      "\n"
      "Usage: hexz-diff OVERLAY [--blocks | --files] [--base SNAPSHOT] [--meta PATH] [--json]\n"
      "       hexz-diff -b BASE MODIFIED OUTPUT [-O overlay|st]   (image mode, below)\n"
      "\n"
      "Options:\n"
      "      --blocks          overlay statistics\n"
      "      --files           the files the modified blocks belong to, then the block list\n"
      "      --base SNAPSHOT   base snapshot for --files (default: from OVERLAY's .base record)\n"
      "      --meta PATH       the overlay's .meta file (default: OVERLAY.meta)\n"
      "      --json, --output=json  print the same facts as JSON (hexz-diff.schema.json)\n"
      "      --parser-timeout SECONDS  kill a sandboxed partition table or filesystem\n"
      "                        parser that has not answered after SECONDS (default 600)\n"
      "  -h, --help            show this help\n"
      "  -V, --version         show the version\n"
      "\n");
  image_diff_help();
}

// Image mode (the contract with image-diff.cpp): an argument "-b", a short
// option cluster starting with -b, or -O.
static bool image_mode(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) break;
    if (strncmp(a, "-b", 2) == 0 || strncmp(a, "-O", 2) == 0) return true;
  }
  return false;
}

namespace {

// A .st given where an overlay belongs would read as an overlay without
// .meta: "0 modified blocks", which is wrong.  An overlay's first bytes are
// the guest disk's first block (a partition table or a filesystem), never
// the snapshot magic.
void refuse_snapshot(const std::string &path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) throw_errno(path + ": overlay");
  unsigned char magic[sizeof MAGIC] = {};
  const size_t n = pread_full(fd.get(), magic, sizeof magic, 0, path);
  if (n == sizeof magic && memcmp(magic, MAGIC, sizeof magic) == 0)
    throw Error(path + ": a hexz snapshot, not an overlay (hexz-diff -b BASE.st MODIFIED.st compares two snapshots)",
                EINVAL);
}

struct Options : OverlayFilesOptions {
  bool blocks = false, files = false;
};

int overlay_main(int argc, char **argv) {
  Options o;
  enum { OPT_BLOCKS = 256, OPT_FILES, OPT_BASE, OPT_META, OPT_JSON, OPT_OUTPUT, OPT_PARSER_TIMEOUT };
  static const struct option longopts[] = {
      {"blocks", no_argument, nullptr, OPT_BLOCKS}, {"files", no_argument, nullptr, OPT_FILES},
      {"base", required_argument, nullptr, OPT_BASE}, {"meta", required_argument, nullptr, OPT_META},
      {"json", no_argument, nullptr, OPT_JSON},     {"output", required_argument, nullptr, OPT_OUTPUT},
      {"parser-timeout", required_argument, nullptr, OPT_PARSER_TIMEOUT},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},       {nullptr, 0, nullptr, 0}};
  int c;
  opterr = 0;  // getopt_error says it once
  while ((c = getopt_long(argc, argv, ":hV", longopts, nullptr)) != -1) {
    switch (c) {
      case OPT_BLOCKS: o.blocks = true; break;
      case OPT_FILES: o.files = true; break;
      case OPT_BASE: o.base = optarg; break;
      case OPT_META: o.meta = optarg; break;
      case OPT_JSON: o.json = true; break;
      case OPT_OUTPUT: o.json = parse_output(PROG, optarg); break;
      case OPT_PARSER_TIMEOUT: o.parser_timeout = parse_parser_timeout(PROG, optarg); break;
      case 'h': help(); return EXIT_OK;
      case 'V': print_version(PROG); return EXIT_OK;
      default: getopt_error(PROG, c, argv);
    }
  }
  if (optind + 1 != argc) usage_error(PROG, optind == argc ? "missing OVERLAY" : "too many arguments");
  if (o.blocks && o.files) usage_error(PROG, "--blocks and --files exclude each other");
  if (!o.base.empty() && !o.files) usage_error(PROG, "--base only makes sense with --files");
  o.overlay = argv[optind];

  struct stat st;
  if (stat(o.overlay.c_str(), &st) != 0) throw Error(o.overlay + ": overlay: " + strerror(errno), errno);
  if (!S_ISREG(st.st_mode)) throw Error(o.overlay + ": overlay is not a regular file", EINVAL);
  refuse_snapshot(o.overlay);
  std::string meta = o.meta.empty() ? default_meta_path(o.overlay) : o.meta;
  bool meta_present = stat(meta.c_str(), &st) == 0;
  // The disk size bounds the indices when the base record knows it.
  uint64_t max_blocks = UINT64_MAX;
  if (auto rec = read_base_record(default_base_path(o.overlay)); rec && rec->disk_size)
    max_blocks = (rec->disk_size + OVERLAY_BLOCK - 1) / OVERLAY_BLOCK;
  std::vector<uint64_t> blocks = read_meta(meta, max_blocks, true);
  uint64_t total = blocks.size(), bytes = total * OVERLAY_BLOCK;

  if (o.files) return overlay_files(o, blocks, meta_present);

  if (o.json) {
    Json j;
    j.begin_object();
    json_overlay_head(j, "overlay-summary", o.overlay, meta, meta_present, total);
    json_extents(j.key("changed_extents"), blocks, OVERLAY_BLOCK);
    j.end_object();
    puts(j.str().c_str());
  } else if (o.blocks) {
    printf("--- Overlay Statistics ---\n");
    printf("Modified Blocks: %llu\n", (unsigned long long)total);
    printf("Total Changed Data: %s\n", format_size(bytes).c_str());
  } else {
    printf("Overlay: \"%s\"\n", o.overlay.c_str());
    printf("Modified Blocks: %llu\n", (unsigned long long)total);
    printf("Estimated Size: %s\n", format_size(bytes).c_str());
  }
  if (!meta_present && !o.json) printf("No .meta file \"%s\": no block is modified.\n", meta.c_str());
  return EXIT_OK;
}

}  // namespace

static int tool_main(int argc, char **argv) {
  if (image_mode(argc, argv)) return image_diff_main(argc, argv);
  try {
    return overlay_main(argc, argv);
  } catch (const std::exception &e) {
    fprintf(stderr, "%s: %s\n", PROG, exception_message(e).c_str());
    return EXIT_FAILURE_;
  }
}

int main(int argc, char **argv) { return run_tool(PROG, tool_main, argc, argv); }
