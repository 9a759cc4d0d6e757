// hexz-pack: create a .st snapshot from a raw disk image, block device or NBD
// URI, and optionally a memory dump.

#include <cstdio>
#include <cstdlib>
#include <getopt.h>
#include <memory>
#include <string>
#include <thread>

#include "config.h"
#include "error.h"
#include "format.h"
#include "options.h"
#include "output.h"
#include "pack.h"
#include "progress.h"
#include "nbd-source.h"
#include "writer.h"

using namespace hexz;

static const char *const PROG = "hexz-pack";

static void help() {
  printf(
      "hexz-pack: pack a disk image (and optionally a memory dump) into a .st snapshot\n"
      "\n"
      "Usage: hexz-pack [OPTIONS] DISK OUTPUT.st\n"
      "\n"
      "DISK is a raw image file, a block device or an NBD URI (nbd://..., nbd+unix://...).\n"
      "Holes are skipped without being read.\n"
      "\n"
      "Options:\n"
      "  -c, --compression=METHOD  lz4, zstd or none (default: zstd)\n"
      "  -l, --level=N             compression level (default: 3 for zstd, 1 for lz4)\n"
      "  -b, --block-size=SIZE     power of two from 4K to 1M (default: 64K)\n"
      "  -j, --threads=N           compression threads (default: all cores)\n"
      "      --memory=FILE         also pack FILE (raw file or NBD URI) as the memory stream\n"
      "  -m, --message=TEXT        store TEXT as the snapshot's message\n"
      "  -f, --force               replace OUTPUT.st if it exists\n"
      "  -p, --progress            show a progress bar on stderr\n"
      "  -h, --help                show this help\n"
      "  -V, --version             show the version\n"
      "\n"
      "Exit status: 0 success, 1 error, 2 usage error.\n");
}

static int tool_main(int argc, char **argv) {
  enum { OPT_MEMORY = 256 };
  static const struct option longopts[] = {
      {"compression", required_argument, nullptr, 'c'}, {"level", required_argument, nullptr, 'l'},
      {"block-size", required_argument, nullptr, 'b'},  {"threads", required_argument, nullptr, 'j'},
      {"memory", required_argument, nullptr, OPT_MEMORY}, {"message", required_argument, nullptr, 'm'},
      {"force", no_argument, nullptr, 'f'},
      {"progress", no_argument, nullptr, 'p'},          {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},           {nullptr, 0, nullptr, 0}};
  WriterOptions wo;
  std::string memory, message;
  bool level_set = false, progress = false, force = false;
  unsigned threads = 0;
  int c;
  try {
    while ((c = next_option(PROG, argc, argv, "c:l:b:j:m:fphV", longopts)) != -1) {
      switch (c) {
        case 'c': wo.method = parse_method(optarg); break;
        case 'l':
          wo.level = parse_level(PROG, optarg);
          level_set = true;
          break;
        case 'b': wo.block_size = parse_block_size(PROG, optarg); break;
        case 'j': threads = parse_threads(PROG, optarg); break;
        case OPT_MEMORY: memory = optarg; break;
        case 'm': message = optarg; break;
        case 'f': force = true; break;
        case 'p': progress = true; break;
        case 'h': help(); return EXIT_OK;
        case 'V': print_version(PROG); return EXIT_OK;
        default: usage_error(PROG, "unknown option");
      }
    }
  } catch (const Error &e) {
    usage_error(PROG, e.what());
  }
  if (argc - optind != 2) usage_error(PROG, "expected DISK and OUTPUT.st");
  if (!level_set && wo.method == Method::LZ4) wo.level = 1;
  std::string disk = argv[optind], output = argv[optind + 1];

  remove_temp_files_on_signals();
  try {
    // Before anything is read: a pack may take minutes.
    check_output(output, {disk, memory}, force);
    std::unique_ptr<Source> dsrc = open_source(disk);
    std::unique_ptr<Source> msrc;
    if (!memory.empty()) msrc = open_source(memory);
    wo.metadata.emplace_back("creator", std::string(PROG) + " " + PACKAGE_VERSION);
    if (!message.empty()) wo.metadata.emplace_back("message", message);

    SnapshotWriter w(output, wo);
    Progress bar(progress);
    uint64_t total = dsrc->size() + (msrc ? msrc->size() : 0);
    PackOptions po;
    po.threads = threads;
    po.progress = [&](uint64_t done, uint64_t) { bar.update(done, total); };
    pack_stream(w, StreamId::DISK, *dsrc, po);
    if (msrc) {
      uint64_t base = dsrc->size();
      po.progress = [&](uint64_t done, uint64_t) { bar.update(base + done, total); };
      pack_stream(w, StreamId::MEMORY, *msrc, po);
    }
    w.commit();
    bar.finish();
  } catch (const Error &e) {
    fprintf(stderr, "%s: %s\n", PROG, e.what());
    return EXIT_FAILURE_;
  } catch (const std::exception &e) {
    fprintf(stderr, "%s: %s\n", PROG, exception_message(e).c_str());
    return EXIT_FAILURE_;
  }
  return EXIT_OK;
}

int main(int argc, char **argv) { return run_tool(PROG, tool_main, argc, argv); }
