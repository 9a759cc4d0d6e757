// hexz-diff: what an overlay changed, down to the files.
//
//   hexz-diff OVERLAY [--blocks | --files] [--base SNAPSHOT] [--meta PATH] [--json]
//
// Image mode (hexz-diff -b BASE MODIFIED ...) is a separate program part
// (image-diff.cpp); main() only routes to it.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <getopt.h>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include "diff-files.h"
#include "error.h"
#include "fs/fsmap.h"
#include "image-diff.h"
#include "json.h"
#include "nbdkit-server.h"
#include "options.h"
#include "overlay-meta.h"
#include "nbd-source.h"
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
      "      --meta PATH       the overlay's .meta file (default: OVERLAY with extension .meta)\n"
      "      --json            print the same facts as JSON\n"
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

struct Options {
  std::string overlay, meta, base;
  bool blocks = false, files = false, json = false;
};

void print_block_list(const std::vector<uint64_t> &blocks) {
  printf("Modified Block Indices:\n");
  for (uint64_t b : blocks) printf("  Block %llu\n", (unsigned long long)b);
}

std::string plural(uint64_t n, const char *word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// A virt-diff line: CHANGE TYPE MODE SIZE PATH [-> LINK]
std::string virt_diff_line(char change, const fs::Node &n, const std::string &path) {
  char b[64];
  snprintf(b, sizeof b, "%c %c %04o %10llu ", change, n.type, n.mode, (unsigned long long)n.size);
  std::string s = b + path;
  if (n.type == 'l') s += " -> " + n.link;
  return s;
}

std::string status_name(fs::FsStatus s) {
  switch (s) {
    case fs::FsStatus::OK: return "ok";
    case fs::FsStatus::UNSUPPORTED: return "unsupported";
    case fs::FsStatus::UNKNOWN: return "unknown";
    case fs::FsStatus::DAMAGED: return "damaged";
  }
  return "?";
}

// The JSON keys every form shares after "overlay" and the form's own file
// key: whether .meta exists and how much the overlay holds.
void json_counts(Json &j, bool meta_present, uint64_t total) {
  j.key("meta_present").value(meta_present);
  j.key("modified_blocks").value(total);
  j.key("size_bytes").value(total * OVERLAY_BLOCK);
  j.key("size").value(format_size(total * OVERLAY_BLOCK));
}

int run_files(const Options &o, const std::vector<uint64_t> &blocks, bool meta_present) {
  std::string base = o.base;
  if (base.empty()) {
    auto rec = read_base_record(default_base_path(o.overlay));
    if (rec) base = rec->path;
  }
  if (base.empty()) {
    if (o.json) {
      Json j;
      j.begin_object();
      j.key("overlay").value(o.overlay);
      j.key("modified_blocks").value(uint64_t(blocks.size()));
      j.key("files_resolved").value(false);
      j.key("reason").value("no base snapshot: no .base record beside the overlay and no --base");
      j.key("blocks").begin_array();
      for (uint64_t b : blocks) j.value(b);
      j.end_array();
      j.end_object();
      puts(j.str().c_str());
    } else {
      print_block_list(blocks);
      printf("\nFile names need the base snapshot: there is no base record \"%s\";\n"
             "run again with --base SNAPSHOT.st to resolve the blocks to files.\n",
             default_base_path(o.overlay).c_str());
    }
    return EXIT_OK;
  }
  struct stat st;
  if (stat(base.c_str(), &st) != 0) throw Error(base + ": base snapshot: " + strerror(errno), errno);
  if (blocks.empty() && !o.json) {
    // Nothing modified: both views are the same disk, no file can differ.
    printf("Overlay: \"%s\"\nBase: \"%s\"\nModified Blocks: 0\nEstimated Size: %s\n", o.overlay.c_str(),
           base.c_str(), format_size(0).c_str());
    if (!meta_present) printf("No .meta file: no block is modified.\n");
    printf("\nModified Block Indices:\n");
    return EXIT_OK;
  }

  ServeOptions before_opts, after_opts;
  before_opts.snapshot = after_opts.snapshot = base;
  after_opts.overlay = o.overlay;
  if (!o.meta.empty()) after_opts.params.push_back("meta=" + o.meta);
  NbdkitServer before_srv(before_opts), after_srv(after_opts);

  auto before_src = nbd_handle_source(before_srv.connect(), "before view of " + base);
  auto after_src = nbd_handle_source(after_srv.connect(), "after view of " + o.overlay);

  // Both views are mapped at once: they are independent and each mostly
  // waits on its own nbdkit.
  fs::DiskMap before, after;
  std::exception_ptr before_err;
  std::thread t([&] {
    try {
      before = fs::map_disk(*before_src);
    } catch (...) {
      before_err = std::current_exception();
    }
  });
  try {
    after = fs::map_disk(*after_src);
  } catch (...) {
    t.join();
    throw;
  }
  t.join();
  if (before_err) std::rethrow_exception(before_err);

  auto read_both = [&](uint64_t b, unsigned char *pb, unsigned char *pa) {
    uint64_t off = b * OVERLAY_BLOCK;
    for (auto [src, p] : {std::pair{before_src.get(), pb}, std::pair{after_src.get(), pa}}) {
      size_t n = off < src->size() ? size_t(std::min<uint64_t>(OVERLAY_BLOCK, src->size() - off)) : 0;
      if (n) src->pread(p, n, off);
      memset(p + n, 0, OVERLAY_BLOCK - n);  // past the end of a shorter disk
    }
  };
  Resolution r = resolve_blocks(before, after, blocks, read_both);
  uint64_t total = blocks.size();

  if (o.json) {
    Json j;
    j.begin_object();
    j.key("overlay").value(o.overlay);
    j.key("base").value(base);
    json_counts(j, meta_present, total);
    j.key("files_resolved").value(true);
    j.key("partition_table").value(after.table.scheme);
    j.key("partitions").begin_array();
    for (auto &f : after.filesystems) {
      j.begin_object();
      j.key("number").value(uint64_t(f.part.number));
      j.key("start").value(f.part.start);
      j.key("length").value(f.part.length);
      j.key("filesystem").value(f.type);
      j.key("status").value(status_name(f.status));
      j.key("message").value(f.message);
      j.end_object();
    }
    j.end_array();
    j.key("files").begin_array();
    for (auto &f : r.files) {
      const fs::Node &n = f.after ? *f.after : *f.before;
      j.begin_object();
      j.key("change").value(std::string(1, f.change == 's' ? '~' : f.change));
      j.key("partition").value(uint64_t(f.partition));
      j.key("path").value(f.path);
      j.key("type").value(std::string(1, n.type));
      char mode[8];
      snprintf(mode, sizeof mode, "%04o", n.mode);
      j.key("mode").value(mode);
      j.key("size").value(n.size);
      if (n.type == 'l') j.key("link").value(n.link);
      if (f.before && f.after) {
        j.key("changed").begin_array();
        for (auto &c : f.changed) j.value(c);
        j.end_array();
      }
      j.key("blocks").value(f.blocks);
      j.end_object();
    }
    j.end_array();
    auto areas = [&](const char *name, const std::vector<AreaCount> &v) {
      j.key(name).begin_array();
      for (auto &a : v) {
        j.begin_object();
        j.key("where").value(a.where);
        j.key("area").value(a.area);
        j.key("blocks").value(a.blocks);
        j.end_object();
      }
      j.end_array();
    };
    areas("metadata", r.metadata);
    areas("free", r.free);
    areas("unresolved", r.unresolved);
    j.key("summary").begin_object();
    j.key("files").value(r.in_files);
    j.key("metadata").value(r.in_metadata);
    j.key("free").value(r.in_free);
    j.key("unresolved").value(r.in_unresolved);
    j.key("partition_tables").value(r.in_tables);
    j.key("outside_partitions").value(r.outside);
    j.end_object();
    j.key("warnings").begin_array();
    for (auto &w : r.warnings) j.value(w);
    j.end_array();
    j.key("blocks").begin_array();
    for (uint64_t b : blocks) j.value(b);
    j.end_array();
    j.end_object();
    puts(j.str().c_str());
    return EXIT_OK;
  }

  for (auto &w : r.warnings) fprintf(stderr, "%s: warning: %s\n", PROG, w.c_str());
  printf("Overlay: \"%s\"\n", o.overlay.c_str());
  printf("Base: \"%s\"\n", base.c_str());
  printf("Modified Blocks: %llu\n", (unsigned long long)total);
  printf("Estimated Size: %s\n", format_size(total * OVERLAY_BLOCK).c_str());
  if (!meta_present) printf("No .meta file: no block is modified.\n");

  unsigned last_part = ~0u;
  for (auto &f : r.files) {
    if (f.partition != last_part) {
      last_part = f.partition;
      for (auto &fsm : after.filesystems)
        if (fsm.part.number == f.partition) printf("\n%s:\n", fsm.label().c_str());
    }
    std::string count = " (" + plural(f.blocks, "modified block") + ")";
    if (f.change == 's') {
      printf("%s\n", virt_diff_line('-', *f.before, f.path).c_str());
      printf("%s%s\n", virt_diff_line('+', *f.after, f.path).c_str(), count.c_str());
      printf("# changed:");
      for (auto &c : f.changed) printf(" %s", c.c_str());
      printf("\n");
    } else {
      // virt-diff shows the old status of a changed file (the new one if it has no old one).
      const fs::Node &n = f.change == '+' || !f.before ? *f.after : *f.before;
      printf("%s%s\n", virt_diff_line(f.change, n, f.path).c_str(), count.c_str());
    }
  }
  if (!r.metadata.empty() || !r.free.empty() || !r.unresolved.empty()) printf("\n");
  for (auto *v : {&r.metadata, &r.free, &r.unresolved})
    for (auto &a : *v) printf("%s: %s: %s\n", a.where.c_str(), a.area.c_str(), plural(a.blocks, "block").c_str());

  printf("\nSummary of %s:\n", plural(total, "modified block").c_str());
  printf("  in files:            %llu\n", (unsigned long long)r.in_files);
  printf("  filesystem metadata: %llu\n", (unsigned long long)r.in_metadata);
  printf("  free space:          %llu\n", (unsigned long long)r.in_free);
  printf("  unresolved:          %llu\n", (unsigned long long)r.in_unresolved);
  printf("  partition tables:    %llu\n", (unsigned long long)r.in_tables);
  printf("  outside partitions:  %llu\n", (unsigned long long)r.outside);
  printf("\n");
  print_block_list(blocks);
  return EXIT_OK;
}

int overlay_main(int argc, char **argv) {
  Options o;
  enum { OPT_BLOCKS = 256, OPT_FILES, OPT_BASE, OPT_META, OPT_JSON };
  static const struct option longopts[] = {
      {"blocks", no_argument, nullptr, OPT_BLOCKS}, {"files", no_argument, nullptr, OPT_FILES},
      {"base", required_argument, nullptr, OPT_BASE}, {"meta", required_argument, nullptr, OPT_META},
      {"json", no_argument, nullptr, OPT_JSON},     {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},       {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "hV", longopts, nullptr)) != -1) {
    switch (c) {
      case OPT_BLOCKS: o.blocks = true; break;
      case OPT_FILES: o.files = true; break;
      case OPT_BASE: o.base = optarg; break;
      case OPT_META: o.meta = optarg; break;
      case OPT_JSON: o.json = true; break;
      case 'h': help(); return EXIT_OK;
      case 'V': print_version(PROG); return EXIT_OK;
      default: usage_error(PROG, "unknown option");
    }
  }
  if (optind + 1 != argc) usage_error(PROG, optind == argc ? "missing OVERLAY" : "too many arguments");
  if (o.blocks && o.files) usage_error(PROG, "--blocks and --files exclude each other");
  if (!o.base.empty() && !o.files) usage_error(PROG, "--base only makes sense with --files");
  o.overlay = argv[optind];

  struct stat st;
  if (stat(o.overlay.c_str(), &st) != 0) throw Error(o.overlay + ": overlay: " + strerror(errno), errno);
  if (!S_ISREG(st.st_mode)) throw Error(o.overlay + ": overlay is not a regular file", EINVAL);
  std::string meta = o.meta.empty() ? default_meta_path(o.overlay) : o.meta;
  bool meta_present = stat(meta.c_str(), &st) == 0;
  // The disk size bounds the indices when the base record knows it.
  uint64_t max_blocks = UINT64_MAX;
  if (auto rec = read_base_record(default_base_path(o.overlay)); rec && rec->disk_size)
    max_blocks = (rec->disk_size + OVERLAY_BLOCK - 1) / OVERLAY_BLOCK;
  std::vector<uint64_t> blocks = read_meta(meta, max_blocks, true);
  uint64_t total = blocks.size(), bytes = total * OVERLAY_BLOCK;

  if (o.files) return run_files(o, blocks, meta_present);

  if (o.json) {
    Json j;
    j.begin_object();
    j.key("overlay").value(o.overlay);
    j.key("meta").value(meta);
    json_counts(j, meta_present, total);
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

int main(int argc, char **argv) {
  if (image_mode(argc, argv)) return image_diff_main(argc, argv);
  try {
    return overlay_main(argc, argv);
  } catch (const std::exception &e) {
    fprintf(stderr, "%s: %s\n", PROG, e.what());
    return EXIT_FAILURE_;
  }
}
