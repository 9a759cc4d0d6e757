// hexz-diff -b BASE MODIFIED OUTPUT [-O overlay|st]: the blocks of MODIFIED
// that differ from BASE, as an overlay that the hexz-cow filter serves on top
// of BASE, or as a thin snapshot whose parent is BASE.

#include "image-diff.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <getopt.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "image-diff-compare.h"
#include "image-diff-files.h"
#include "image-diff-input.h"
#include "json.h"
#include "index-diff.h"
#include "options.h"
#include "output.h"
#include "overlay-meta.h"
#include "pack.h"
#include "progress.h"
#include "util.h"
#include "writer.h"
#include "nbd-source.h"

using namespace hexz;

namespace {

const char *const PROG = "hexz-diff";

}  // namespace

void image_diff_help() {
  printf(
      "hexz-diff -b: compare two disk images\n"
      "\n"
      "Usage: hexz-diff -b BASE MODIFIED OUTPUT [-O overlay|st] [--allow-grow] [-f] [-p] [--direct]\n"
      "                 [--no-index] [--trust-checksums]\n"
      "       hexz-diff -b BASE MODIFIED [-p] [--direct] [--no-index] [--trust-checksums]\n"
      "                 (report only)\n"
      "       hexz-diff --files -b BASE MODIFIED [--times] [--uids] [--xattrs]\n"
      "                 [--checksum[=md5|sha256]] [--csv|--json]\n"
      "\n"
      "BASE and MODIFIED are each a .st snapshot, a raw image or block device, or an\n"
      "NBD URI (nbd://..., nbd+unix://...: anything qemu-nbd or nbdkit serves).\n"
      "\n"
      "Block mode writes the 4 KiB blocks of MODIFIED that differ from BASE:\n"
      "  -O overlay (default)  OUTPUT is a hexz overlay plus its .meta (and .base when\n"
      "                        BASE is a .st): nbdkit --filter=hexz-cow hexz file=BASE\n"
      "                        overlay=OUTPUT then serves MODIFIED byte for byte\n"
      "  -O st                 OUTPUT is a thin .st snapshot whose parent is BASE\n"
      "                        (BASE must be a .st)\n"
      "  --allow-grow          accept a MODIFIED larger than BASE (with -O st); BASE's\n"
      "                        missing bytes compare as zeroes\n"
      "  -f, --force           replace OUTPUT (and its .meta and .base) if it exists\n"
      "  -p, --progress        show a progress bar on stderr\n"
      "      --direct          read raw images in-process (pread, SEEK_DATA) instead\n"
      "                        of through nbdkit's file plugin (same bytes, faster)\n"
      "      --no-index        with two .st inputs, read every block instead of\n"
      "                        skipping those their indexes prove equal\n"
      "      --trust-checksums also take blocks with equal XXH3-64 checksums in\n"
      "                        unrelated snapshots as equal without reading them\n"
      "                        (not safe against crafted images)\n"
      "\n"
      "Without OUTPUT nothing is written: the changed blocks are counted, and the exit\n"
      "status says whether the disks are identical (0), differ (1, also when the sizes\n"
      "differ) or could not be compared (2), as with qemu-img compare.\n"
      "\n"
      "File mode (--files) lists added (+), removed (-) and changed (=) files of every\n"
      "filesystem on the two disks, in virt-diff's format:\n"
      "  --times               show (and compare) mtime and ctime\n"
      "  --uids                show uid and gid\n"
      "  --xattrs              show extended attributes\n"
      "  --checksum[=ALG]      show checksums of regular files (md5, the default, or sha256)\n"
      "  --dir-links           do not ignore nlink changes of directories\n"
      "  --dir-times           do not ignore time changes of directories\n"
      "  --csv                 comma-separated values\n"
      "  --json, --output=json one JSON document (every -b form; hexz-diff.schema.json)\n"
      "\n"
      "  -h, --help            show this help\n"
      "  -V, --version         show the version\n"
      "\n"
      "  --parser-timeout SECONDS  (--files) kill a sandboxed partition table or\n"
      "                        filesystem parser that has not answered after SECONDS\n"
      "                        (default 600)\n"
      "\n"
      "Exit status: 0 success, 1 error, 2 usage error, 3 (--files) some partition\n"
      "table or filesystem could not be read (each is named on stderr).\n");
}

namespace {

enum class OutKind { OVERLAY, ST };

// The report form's exit codes (qemu-img compare's): 0 identical, 1
// different, 2 on any error.
constexpr int EXIT_DIFFERENT = 1, EXIT_REPORT_ERROR = 2;

struct Options {
  std::string base;
  OutKind out = OutKind::OVERLAY;
  bool out_given = false;  // -O
  bool allow_grow = false, progress = false, files = false, direct = false, force = false;
  bool no_index = false, trust_checksums = false;
  FileDiffOptions fo;
};

std::string quoted(const std::string &s) { return "\"" + s + "\""; }

void describe(const char *role, const ImageInput &in) {
  printf("%s: %s (%s, %llu bytes)\n", role, quoted(in.spec).c_str(), in.kind.c_str(),
         (unsigned long long)in.size());
}

void json_input(Json &j, const ImageInput &in) {
  j.begin_object();
  j.key("spec").value(in.spec);
  j.key("kind").value(in.kind);
  j.key("size").value(in.size());
  j.end_object();
}

// The block-diff document of hexz-diff.schema.json.  R is null when the
// sizes differ and nothing was compared; OUTPUT writes the "output" object
// (empty: the report form, null).
void print_block_json(const ImageInput &base, const ImageInput &mod, const CompareResult *r,
                      const std::function<void(Json &)> &output = {}) {
  Json j;
  j.begin_object();
  j.key("kind").value("block-diff");
  json_input(j.key("base"), base);
  json_input(j.key("modified"), mod);
  j.key("identical").value(r && r->changed.empty());
  j.key("size_mismatch").value(r == nullptr);
  if (r) {
    j.key("blocks").value(r->blocks);
    j.key("changed_blocks").value(uint64_t(r->changed.size()));
    j.key("zeroed_blocks").value(r->zeroed);
    j.key("changed_bytes").value(uint64_t(r->changed.size()) * OVERLAY_BLOCK);
    json_extents(j.key("changed_extents"), r->changed, OVERLAY_BLOCK);
  }
  j.key("output");
  if (output) {
    j.begin_object();
    output(j);
    j.end_object();
  } else {
    j.null_value();
  }
  j.end_object();
  puts(j.str().c_str());
}

void describe_changes(const ImageInput &base, const ImageInput &mod, const CompareResult &r) {
  describe("Base", base);
  describe("Modified", mod);
  printf("Changed Blocks: %zu of %llu (%llu now zero)\n", r.changed.size(), (unsigned long long)r.blocks,
         (unsigned long long)r.zeroed);
  printf("Changed Size: %s\n", format_size(r.changed.size() * OVERLAY_BLOCK).c_str());
}

// Before anything is read: OUTPUT (and, for an overlay, its .meta and .base)
// must be writable and must not be an input.
void check_outputs(const Options &o, const std::string &modified, const std::string &output) {
  check_output(output, {o.base, modified}, o.force);
  if (o.out == OutKind::OVERLAY) check_overlay_name(output);
  // The side files are OUTPUT's own (OUTPUT.meta, OUTPUT.base): replacing
  // them never touches another overlay's.
  if (o.out == OutKind::OVERLAY)
    for (const std::string &side : {default_meta_path(output), default_base_path(output)})
      check_output(side, {o.base, modified}, true);
}

// Comparison options for BASE and MODIFIED.  With two .st inputs, the blocks
// their indexes prove equal are never read (index-diff.h); the result is the
// same as reading them.
CompareOptions compare_options(const Options &o, const ImageInput &base, const ImageInput &mod) {
  CompareOptions co;
  if (!o.no_index && base.is_snapshot() && mod.is_snapshot())
    co.known_equal = index_diff(*base.snapshot, *mod.snapshot, o.trust_checksums, OVERLAY_BLOCK).equal;
  return co;
}

// The overlay: MODIFIED's changed non-zero blocks at their own offsets, the
// rest of the file sparse; then .meta listing every changed block (blocks
// that became zero are listed but left unallocated, which reads as zeroes,
// docs/format.md 2.2); then the .base record when BASE is a snapshot.
int write_overlay(const Options &o, ImageInput &base, ImageInput &mod, const std::string &output) {
  const std::string meta = default_meta_path(output), base_rec = default_base_path(output);

  AtomicFile file(output);
  Progress bar(o.progress);
  CompareOptions co = compare_options(o, base, mod);
  co.progress = [&](uint64_t d, uint64_t t) { bar.update(d, t); };
  co.changed_data = [&](uint64_t first, uint64_t n, const unsigned char *data) {
    pwrite_full(file.fd(), data, n * OVERLAY_BLOCK, off_t(first * OVERLAY_BLOCK), file.temp_path());
  };
  CompareResult r = compare_images(base, mod, co);
  bar.finish();
  // The overlay covers the whole disk (rounded up to a block), as the filter
  // expects; unwritten parts stay holes.
  const uint64_t len = r.blocks * OVERLAY_BLOCK;
  if (ftruncate(file.fd(), off_t(len)) != 0) throw_errno(file.temp_path() + ": truncate");
  fsync_or_throw(file.fd(), file.temp_path());
  file.commit();
  write_meta(meta, r.changed);
  if (base.is_snapshot()) {
    BaseRecord rec;
    rec.uuid = base.snapshot->uuid();
    rec.path = absolute_path(base.spec);
    rec.disk_size = base.size();
    write_base_record(base_rec, rec);
  } else if (unlink(base_rec.c_str()) == 0) {
    // A stale record from an earlier overlay of this name would make the
    // filter refuse (or misreport) the new one.
    fprintf(stderr, "%s: removed stale %s (BASE is not a hexz snapshot)\n", PROG, base_rec.c_str());
  }

  if (o.fo.json) {
    print_block_json(base, mod, &r, [&](Json &j) {
      j.key("format").value("overlay");
      j.key("path").value(output);
      j.key("meta").value(meta);
      if (base.is_snapshot()) j.key("base_record").value(base_rec);
    });
    return EXIT_OK;
  }
  describe_changes(base, mod, r);
  printf("Overlay: %s\n", quoted(output).c_str());
  printf("Meta: %s\n", quoted(meta).c_str());
  if (base.is_snapshot()) printf("Base Record: %s\n", quoted(base_rec).c_str());
  return EXIT_OK;
}

// A thin snapshot: compare first, then pack MODIFIED taking only the
// snapshot blocks that hold a changed 4 KiB block; all others become PARENT
// references to BASE without being read again.
int write_thin(const Options &o, ImageInput &base, ImageInput &mod, const std::string &output) {
  if (!base.is_snapshot())
    throw Error("-O st needs BASE to be a .st snapshot (it becomes the parent), but " + base.spec + " is a " +
                    base.kind,
                EINVAL);
  Progress bar(o.progress);
  CompareOptions co = compare_options(o, base, mod);
  co.progress = [&](uint64_t d, uint64_t t) { bar.update(d / 2, t); };
  CompareResult r = compare_images(base, mod, co);

  WriterOptions wo;
  wo.block_size = base.snapshot->block_size();
  wo.parent = std::make_pair(absolute_path(base.spec), base.snapshot->uuid());
  wo.metadata.emplace_back("creator", std::string(PROG) + " " + PACKAGE_VERSION);
  SnapshotWriter w(output, wo);
  const uint64_t per = wo.block_size / OVERLAY_BLOCK;
  const std::vector<uint64_t> &ch = r.changed;
  PackOptions po;
  po.take = [&](uint64_t i) {
    auto it = std::lower_bound(ch.begin(), ch.end(), i * per);
    return it != ch.end() && *it < (i + 1) * per;
  };
  po.progress = [&](uint64_t d, uint64_t t) { bar.update(t / 2 + d / 2, t); };
  PackStats ps = pack_stream(w, StreamId::DISK, *mod.source, po);
  w.commit();
  bar.finish();

  if (o.fo.json) {
    print_block_json(base, mod, &r, [&](Json &j) {
      j.key("format").value("st");
      j.key("path").value(output);
      j.key("stored_blocks").value(ps.data_blocks + ps.zero_blocks);
      j.key("snapshot_blocks").value(ps.blocks);
      j.key("block_size").value(uint64_t(wo.block_size));
      j.key("stored_bytes").value(w.stored_bytes());
    });
    return EXIT_OK;
  }
  describe_changes(base, mod, r);
  printf("Snapshot: %s (%llu of %llu blocks of %u bytes stored, %s)\n", quoted(output).c_str(),
         (unsigned long long)(ps.data_blocks + ps.zero_blocks), (unsigned long long)ps.blocks, wo.block_size,
         format_size(w.stored_bytes()).c_str());
  return EXIT_OK;
}

// hexz-diff -b BASE MODIFIED, without OUTPUT: only a report, as qemu-img
// compare gives one (exit 0 identical, 1 different, 2 error).  Disks of
// different sizes differ, and are not read.
int report(const Options &o, ImageInput &base, ImageInput &mod) {
  if (base.size() != mod.size()) {
    if (o.fo.json) {
      print_block_json(base, mod, nullptr);
      return EXIT_DIFFERENT;
    }
    describe("Base", base);
    describe("Modified", mod);
    printf("Images differ: the disk sizes differ.\n");
    return EXIT_DIFFERENT;
  }
  Progress bar(o.progress);
  CompareOptions co = compare_options(o, base, mod);
  co.progress = [&](uint64_t d, uint64_t t) { bar.update(d, t); };
  CompareResult r = compare_images(base, mod, co);
  bar.finish();
  if (o.fo.json) {
    print_block_json(base, mod, &r);
    return r.changed.empty() ? EXIT_OK : EXIT_DIFFERENT;
  }
  describe_changes(base, mod, r);
  printf(r.changed.empty() ? "Images are identical.\n" : "Images differ.\n");
  return r.changed.empty() ? EXIT_OK : EXIT_DIFFERENT;
}

// Block mode: sizes must match; with --allow-grow MODIFIED may be larger.
// Either way a difference is said out loud.
void check_sizes(const Options &o, const ImageInput &base, const ImageInput &mod) {
  const uint64_t bs = base.size(), ms = mod.size();
  if (bs == ms) return;
  std::string sizes = "BASE " + base.spec + " is " + std::to_string(bs) + " bytes (" + format_size(bs) +
                      ") but MODIFIED " + mod.spec + " is " + std::to_string(ms) + " bytes (" + format_size(ms) + ")";
  if (ms < bs) throw Error(sizes + ": the disk sizes differ and MODIFIED is smaller, which cannot be diffed", EINVAL);
  if (!o.allow_grow) throw Error(sizes + ": the disk sizes differ (--allow-grow accepts a larger MODIFIED)", EINVAL);
  if (o.out == OutKind::OVERLAY)
    throw Error(sizes + ": an overlay cannot make the disk larger than BASE; use -O st", EINVAL);
  fprintf(stderr, "%s: note: %s; the %llu extra bytes are compared against zeroes\n", PROG, sizes.c_str(),
          (unsigned long long)(ms - bs));
}

}  // namespace

unsigned parse_parser_timeout(const char *program, const char *arg) {
  char *end = nullptr;
  errno = 0;
  unsigned long v = strtoul(arg, &end, 10);
  if (errno || end == arg || *end || v < 1 || v > 86400)
    usage_error(program, std::string("--parser-timeout must be 1 to 86400 seconds, not '") + arg + "'");
  return unsigned(v);
}

int image_diff_main(int argc, char **argv) {
  enum {
    OPT_ALLOW_GROW = 256,
    OPT_FILES,
    OPT_TIMES,
    OPT_UIDS,
    OPT_XATTRS,
    OPT_CHECKSUM,
    OPT_CSV,
    OPT_JSON,
    OPT_DIR_LINKS,
    OPT_DIR_TIMES,
    OPT_DIRECT,
    OPT_NO_INDEX,
    OPT_TRUST_CHECKSUMS,
    OPT_OUTPUT,
    OPT_PARSER_TIMEOUT,
  };
  static const struct option longopts[] = {
      {"output-format", required_argument, nullptr, 'O'},
      {"allow-grow", no_argument, nullptr, OPT_ALLOW_GROW},
      {"force", no_argument, nullptr, 'f'},
      {"progress", no_argument, nullptr, 'p'},
      {"files", no_argument, nullptr, OPT_FILES},
      {"times", no_argument, nullptr, OPT_TIMES},
      {"uids", no_argument, nullptr, OPT_UIDS},
      {"xattrs", no_argument, nullptr, OPT_XATTRS},
      {"checksum", optional_argument, nullptr, OPT_CHECKSUM},
      {"checksums", optional_argument, nullptr, OPT_CHECKSUM},
      {"csv", no_argument, nullptr, OPT_CSV},
      {"json", no_argument, nullptr, OPT_JSON},
      {"output", required_argument, nullptr, OPT_OUTPUT},
      {"dir-links", no_argument, nullptr, OPT_DIR_LINKS},
      {"dir-times", no_argument, nullptr, OPT_DIR_TIMES},
      {"direct", no_argument, nullptr, OPT_DIRECT},
      {"no-index", no_argument, nullptr, OPT_NO_INDEX},
      {"trust-checksums", no_argument, nullptr, OPT_TRUST_CHECKSUMS},
      {"parser-timeout", required_argument, nullptr, OPT_PARSER_TIMEOUT},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},
      {nullptr, 0, nullptr, 0}};
  Options o;
  optind = 0;  // hexz-diff's main may have scanned the arguments already
  int c;
  opterr = 0;  // getopt_error says it once
  while ((c = getopt_long(argc, argv, ":b:O:fphV", longopts, nullptr)) != -1) {
    switch (c) {
      case 'b': o.base = optarg; break;
      case 'O':
        o.out_given = true;
        if (!strcmp(optarg, "overlay"))
          o.out = OutKind::OVERLAY;
        else if (!strcmp(optarg, "st"))
          o.out = OutKind::ST;
        else
          usage_error(PROG, std::string("-O must be 'overlay' or 'st', not '") + optarg + "'");
        break;
      case OPT_ALLOW_GROW: o.allow_grow = true; break;
      case 'f': o.force = true; break;
      case 'p': o.progress = true; break;
      case OPT_FILES: o.files = true; break;
      case OPT_TIMES: o.fo.times = true; break;
      case OPT_UIDS: o.fo.uids = true; break;
      case OPT_XATTRS: o.fo.xattrs = true; break;
      case OPT_CHECKSUM:
        o.fo.checksum = optarg && *optarg ? optarg : "md5";
        if (o.fo.checksum != "md5" && o.fo.checksum != "sha256")
          usage_error(PROG, "--checksum must be md5 or sha256, not '" + o.fo.checksum + "'");
        break;
      case OPT_CSV: o.fo.csv = true; break;
      case OPT_JSON: o.fo.json = true; break;
      case OPT_OUTPUT: o.fo.json = parse_output(PROG, optarg); break;
      case OPT_DIR_LINKS: o.fo.dir_links = true; break;
      case OPT_DIR_TIMES: o.fo.dir_times = true; break;
      case OPT_DIRECT: o.direct = true; break;
      case OPT_NO_INDEX: o.no_index = true; break;
      case OPT_TRUST_CHECKSUMS: o.trust_checksums = true; break;
      case OPT_PARSER_TIMEOUT: o.fo.parser_timeout = parse_parser_timeout(PROG, optarg); break;
      case 'h': image_diff_help(); return EXIT_OK;
      case 'V': print_version(PROG); return EXIT_OK;
      default: getopt_error(PROG, c, argv);
    }
  }
  if (o.base.empty()) usage_error(PROG, "image mode needs -b BASE");
  if (o.fo.csv && o.fo.json) usage_error(PROG, "--csv and --json exclude each other");
  if (o.fo.csv && !o.files) usage_error(PROG, "--csv is for --files (the block forms have --json)");
  const int args = argc - optind;
  if (o.files && args != 1) usage_error(PROG, "expected -b BASE MODIFIED with --files");
  if (!o.files && args != 1 && args != 2) usage_error(PROG, "expected -b BASE MODIFIED [OUTPUT]");
  const bool report_only = !o.files && args == 1;
  if (report_only && (o.out_given || o.allow_grow))
    usage_error(PROG, std::string(o.out_given ? "-O" : "--allow-grow") + " needs an OUTPUT");
  const std::string modified = argv[optind];

  remove_temp_files_on_signals();
  try {
    if (!o.files && !report_only) check_outputs(o, modified, argv[optind + 1]);
    auto base = open_image_input(o.base, "BASE", o.direct);
    auto mod = open_image_input(modified, "MODIFIED", o.direct);
    connect_image_input(*base);
    connect_image_input(*mod);
    // Files are compared whatever the disk sizes; blocks only as allowed.
    if (o.files) {
      FileDiffOptions fo = o.fo;
      fo.known_equal = compare_options(o, *base, *mod).known_equal;
      return files_diff(*base, *mod, fo);
    }
    if (report_only) return report(o, *base, *mod);
    check_sizes(o, *base, *mod);
    if (o.out == OutKind::ST) return write_thin(o, *base, *mod, argv[optind + 1]);
    return write_overlay(o, *base, *mod, argv[optind + 1]);
  } catch (const std::exception &e) {
    fprintf(stderr, "%s: %s\n", PROG, exception_message(e).c_str());
    return report_only ? EXIT_REPORT_ERROR : EXIT_FAILURE_;
  }
}
