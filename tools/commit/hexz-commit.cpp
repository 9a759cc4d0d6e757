// hexz-commit: turn a copy-on-write overlay into a new snapshot, standalone
// ("thick") or holding only the changed blocks ("thin"); or flatten a thin
// snapshot's chain into a standalone copy.
//
// The merged view (BASE plus overlay) is read from "nbdkit hexz" with the
// hexz-cow filter over NBD, and written with the core writer: the tool
// neither decodes snapshots nor merges overlays itself.

#include <algorithm>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <getopt.h>
#include <memory>
#include <string>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "base-image.h"
#include "config.h"
#include "error.h"
#include "format.h"
#include "nbdkit-server.h"
#include "options.h"
#include "output.h"
#include "overlay-lock.h"
#include "overlay-meta.h"
#include "pack.h"
#include "progress.h"
#include "same-file.h"
#include "snapshot.h"
#include "touched-blocks.h"
#include "unique-fd.h"
#include "util.h"
#include "nbd-source.h"
#include "writer.h"

using namespace hexz;

static const char *const PROG = "hexz-commit";

static void help() {
  printf(
      "hexz-commit: turn an overlay into a new snapshot, or flatten a thin snapshot\n"
      "\n"
      "Usage: hexz-commit --base BASE.st --overlay CHANGES.overlay --output NEW.st [OPTIONS]\n"
      "       hexz-commit --flatten THIN.st --output FLAT.st [OPTIONS]\n"
      "\n"
      "NEW.st holds BASE.st with the overlay's changes applied.  By default it is\n"
      "standalone; with --thin it stores only the blocks the overlay touched and\n"
      "refers to BASE.st for the rest.  --flatten writes a standalone copy of a\n"
      "snapshot chain.\n"
      "\n"
      "Options:\n"
      "      --base=FILE           the snapshot (or raw image) the overlay was written on\n"
      "      --overlay=FILE        the hexz-cow overlay (with FILE's .meta and .base beside it)\n"
      "  -o, --output=FILE         the snapshot to write\n"
      "      --thin                store only the changed blocks; the rest refers to BASE\n"
      "      --flatten=FILE        write a standalone copy of the chain ending in FILE\n"
      "      --memory=FILE         memory stream from FILE (raw file or NBD URI) instead of BASE's\n"
      "  -c, --compression=METHOD  lz4, zstd or none (default: zstd)\n"
      "  -l, --level=N             compression level (default: 3 for zstd, 1 for lz4)\n"
      "  -b, --block-size=SIZE     power of two from 4K to 1M (default: BASE's block size;\n"
      "                            a thin commit must use BASE's)\n"
      "  -j, --threads=N           compression threads (default: all cores)\n"
      "  -m, --message=TEXT        store TEXT as the new snapshot's message\n"
      "      --remove-overlay      remove the overlay, its .meta and .base once NEW.st is in place\n"
      "      --force-base          commit even if the overlay's .base names another snapshot\n"
      "  -f, --force               replace OUTPUT if it exists\n"
      "  -p, --progress            show a progress bar on stderr\n"
      "  -h, --help                show this help\n"
      "  -V, --version             show the version\n"
      "\n"
      "Exit status: 0 success, 1 error, 2 usage error.\n");
}

namespace {

struct Args {
  std::string base, overlay, output, flatten, memory, message;
  bool thin = false, remove_overlay = false, force_base = false, force = false, progress = false;
  WriterOptions wo;
  bool level_set = false;
  uint32_t block_size = 0;  // 0: the input's
  unsigned threads = 0;
};

// Replacing a snapshot of the chain NEW.st is read from would break it (and
// the new snapshot, if thin).
void refuse_output_in_chain(const std::string &output, const std::shared_ptr<const Snapshot> &top) {
  for (const Snapshot *s = top.get(); s; s = s->parent().get())
    if (same_file(output, s->path()))
      throw Error(output + ": output would replace " + s->path() + ", which it is read from", EINVAL);
}

// Metadata of the new snapshot: FROM's keys (none for a raw base, FROM
// null) except the ones this run sets.  A commit does not inherit the
// base's message (it described the base); a flatten keeps it unless -m
// replaces it.
Metadata new_metadata(const Snapshot *from, bool keep_message, const std::string &message) {
  Metadata m;
  for (auto &[k, v] : from ? from->metadata() : Metadata{}) {
    if (k == "creator" || (k == "message" && (!keep_message || !message.empty()))) continue;
    m.emplace_back(k, v);
  }
  m.emplace_back("creator", std::string(PROG) + " " + PACKAGE_VERSION);
  if (!message.empty()) m.emplace_back("message", message);
  return m;
}

uint64_t blocks_of(uint64_t size, uint32_t bs) { return size / bs + (size % bs ? 1 : 0); }

// Output blocks holding at least one of the overlay's modified 4 KiB blocks.
std::vector<uint64_t> touched_blocks(const std::vector<uint64_t> &meta, uint32_t bs) {
  std::vector<uint64_t> t;
  for (uint64_t i : meta) {
    uint64_t b = i * OVERLAY_BLOCK / bs;
    if (t.empty() || t.back() != b) t.push_back(b);
  }
  return t;
}

// The overlay's .base record, if any, must name BASE (a raw base matches
// none: the filter records only snapshots).  Returns whether it does not
// (only possible with --force-base).
bool check_base_record(const Args &a, const BaseImage &base) {
  std::string path = default_base_path(a.overlay);
  std::optional<BaseRecord> rec = read_base_record(path);
  if (!rec) return false;
  std::string why = base_record_mismatch(path, a.overlay, *rec, base);
  if (a.force_base || why.empty()) return !why.empty();
  throw Error(why + "; refusing to apply it to " + (base.is_raw() ? "another disk" : "a different snapshot") +
                  " (--force-base overrides)",
              EINVAL);
}

// Writes A.output: DISK as the disk stream (blocks for which TAKE is false
// as parent references), then the memory stream: --memory's, else FROM's
// carried over (as parent references when THIN, since it is unchanged),
// read from the "memory" export of SERVER, the nbdkit serving FROM (null
// for a raw base, which has no memory stream).
void write_output(const Args &a, Source &disk, const NbdkitServer &server, const Snapshot *from, bool thin,
                  std::function<bool(uint64_t)> take) {
  std::unique_ptr<Source> memory;  // opened first, so that a bad --memory fails early
  if (!a.memory.empty())
    memory = open_source(a.memory);
  else if (from && from->has_stream(StreamId::MEMORY) && !thin)
    memory = nbd_handle_source(server.connect("memory"), from->path() + " (memory stream)");

  SnapshotWriter w(a.output, a.wo);
  Progress bar(a.progress);
  const uint64_t disk_size = disk.size(), total = disk_size + (memory ? memory->size() : 0);
  PackOptions po;
  po.threads = a.threads;
  po.take = std::move(take);
  po.progress = [&](uint64_t done, uint64_t) { bar.update(done, total); };
  pack_stream(w, StreamId::DISK, disk, po);

  if (memory) {
    po.take = nullptr;
    po.progress = [&](uint64_t done, uint64_t) { bar.update(disk_size + done, total); };
    pack_stream(w, StreamId::MEMORY, *memory, po);
  } else if (from && from->has_stream(StreamId::MEMORY)) {  // thin, unchanged
    uint64_t size = from->stream_size(StreamId::MEMORY);
    w.begin_stream(StreamId::MEMORY, size);
    for (uint64_t i = 0, n = blocks_of(size, w.options().block_size); i < n; i++) w.put_parent(i);
    w.end_stream();
  }
  w.commit();
  bar.finish();
}

// Options for nbdkit serving BASE to a commit, which reads each block once,
// in order: nothing is ever read twice, so the hexz plugin's block cache is
// off (no per-block lookups, no cache memory).  A raw base is served by the
// file plugin, which has no cache.
ServeOptions single_pass(const BaseImage &base) {
  ServeOptions so = base.serve_options();
  if (!base.is_raw()) so.params.push_back("cache-size=0");
  return so;
}

void commit(Args &a) {
  const BaseImage base_image = open_base_image(a.base);
  const std::shared_ptr<const Snapshot> &base = base_image.snapshot;  // null for a raw base
  // An nbdkit writing the overlay has writes its .meta does not list yet:
  // refuse, naming it.  The nbdkit started below then holds the overlay's
  // lock (exclusive, overlay-lock.h) for the whole commit, so that none
  // starts writing meanwhile; .meta is read only once it does.
  check_overlay_free(a.overlay, true);
  const bool force = check_base_record(a, base_image);
  const uint64_t disk_size = base_image.size;
  std::string meta_path = default_meta_path(a.overlay);

  if (a.thin && !base)
    throw Error("--thin: " + a.base + " is a raw image; a thin snapshot refers to a .st parent for its unchanged "
                "blocks (commit without --thin for a standalone snapshot, or pack the raw image first)",
                EINVAL);
  if (a.thin && a.block_size && a.block_size != base->block_size())
    throw Error("--thin: block size " + std::to_string(a.block_size) + " differs from " + a.base +
                    "'s block size " + std::to_string(base->block_size()) +
                    "; a thin snapshot must use its parent's block size",
                EINVAL);
  if (a.block_size) a.wo.block_size = a.block_size;
  else if (base) a.wo.block_size = base->block_size();
  if (a.thin) {
    unsigned depth = 0;
    for (const Snapshot *s = base.get(); s; s = s->parent().get()) depth++;
    if (depth >= MAX_CHAIN_DEPTH)
      throw Error(a.base + ": its chain already holds " + std::to_string(depth) +
                      " snapshots; a thin commit on it would exceed the limit of " +
                      std::to_string(MAX_CHAIN_DEPTH) + " (commit thick, or flatten it first)",
                  EINVAL);
  }

  if (base) refuse_output_in_chain(a.output, base);
  for (const std::string &p : {a.overlay, meta_path, default_base_path(a.overlay)})
    if (same_file(a.output, p)) throw Error(a.output + ": output would replace the overlay's file " + p, EINVAL);

  a.wo.metadata = new_metadata(base.get(), false, a.message);
  if (a.thin) a.wo.parent = std::make_pair(a.base, base->uuid());

  ServeOptions so = single_pass(base_image);
  so.overlay = a.overlay;
  if (force) so.params.push_back("force=true");  // the filter then rewrites .base
  NbdkitServer server(so);
  std::unique_ptr<Source> view = nbd_handle_source(server.connect(), a.base + " + " + a.overlay);

  if (a.thin) {
    std::vector<uint64_t> meta = read_meta(meta_path, blocks_of(disk_size, OVERLAY_BLOCK));
    std::vector<uint64_t> touched = touched_blocks(meta, a.wo.block_size);
    std::unique_ptr<Source> thin_view = touched_blocks_source(*view, touched, a.wo.block_size);
    write_output(a, *thin_view, server, base.get(), true,
                 [&touched](uint64_t i) { return std::binary_search(touched.begin(), touched.end(), i); });
  } else {
    write_output(a, *view, server, base.get(), false, nullptr);
  }

  // The new snapshot is durable: only now may the overlay go.
  view.reset();
  server.stop();
  if (a.remove_overlay) {
    for (const std::string &p : {a.overlay, meta_path, default_base_path(a.overlay)})
      if (unlink(p.c_str()) != 0 && errno != ENOENT) throw_errno(p + ": cannot remove");
    fsync_parent_dir(a.overlay);
  }
}

void flatten(Args &a) {
  BaseImage from;
  from.path = a.flatten;
  from.snapshot = Snapshot::open(a.flatten);
  const std::shared_ptr<const Snapshot> &top = from.snapshot;
  refuse_output_in_chain(a.output, top);
  a.wo.block_size = a.block_size ? a.block_size : top->block_size();
  a.wo.metadata = new_metadata(top.get(), true, a.message);

  NbdkitServer server(single_pass(from));
  std::unique_ptr<Source> view = nbd_handle_source(server.connect(), a.flatten);

  write_output(a, *view, server, top.get(), false, nullptr);
  view.reset();
  server.stop();
}

}  // namespace

static int tool_main(int argc, char **argv) {
  enum { OPT_BASE = 256, OPT_OVERLAY, OPT_THIN, OPT_FLATTEN, OPT_MEMORY, OPT_REMOVE, OPT_FORCE_BASE };
  static const struct option longopts[] = {
      {"base", required_argument, nullptr, OPT_BASE},
      {"overlay", required_argument, nullptr, OPT_OVERLAY},
      {"output", required_argument, nullptr, 'o'},
      {"thin", no_argument, nullptr, OPT_THIN},
      {"flatten", required_argument, nullptr, OPT_FLATTEN},
      {"memory", required_argument, nullptr, OPT_MEMORY},
      {"compression", required_argument, nullptr, 'c'},
      {"level", required_argument, nullptr, 'l'},
      {"block-size", required_argument, nullptr, 'b'},
      {"threads", required_argument, nullptr, 'j'},
      {"message", required_argument, nullptr, 'm'},
      {"remove-overlay", no_argument, nullptr, OPT_REMOVE},
      {"force-base", no_argument, nullptr, OPT_FORCE_BASE},
      {"force", no_argument, nullptr, 'f'},
      {"progress", no_argument, nullptr, 'p'},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},
      {nullptr, 0, nullptr, 0}};
  Args a;
  int c;
  try {
    while ((c = next_option(PROG, argc, argv, "o:c:l:b:j:m:fphV", longopts)) != -1) {
      switch (c) {
        case OPT_BASE: a.base = optarg; break;
        case OPT_OVERLAY: a.overlay = optarg; break;
        case 'o': a.output = optarg; break;
        case OPT_THIN: a.thin = true; break;
        case OPT_FLATTEN: a.flatten = optarg; break;
        case OPT_MEMORY: a.memory = optarg; break;
        case 'c': a.wo.method = parse_method(optarg); break;
        case 'l':
          a.wo.level = parse_level(PROG, optarg);
          a.level_set = true;
          break;
        case 'b': a.block_size = parse_block_size(PROG, optarg); break;
        case 'j': a.threads = parse_threads(PROG, optarg); break;
        case 'm': a.message = optarg; break;
        case OPT_REMOVE: a.remove_overlay = true; break;
        case OPT_FORCE_BASE: a.force_base = true; break;
        case 'f': a.force = true; break;
        case 'p': a.progress = true; break;
        case 'h': help(); return EXIT_OK;
        case 'V': print_version(PROG); return EXIT_OK;
        default: usage_error(PROG, "unknown option");
      }
    }
  } catch (const Error &e) {
    usage_error(PROG, e.what());
  }
  if (optind != argc) usage_error(PROG, std::string("unexpected argument '") + argv[optind] + "'");
  if (a.output.empty()) usage_error(PROG, "--output is required");
  if (!a.flatten.empty()) {
    if (!a.base.empty() || !a.overlay.empty() || a.thin || a.remove_overlay || a.force_base)
      usage_error(PROG, "--flatten takes no --base, --overlay, --thin, --remove-overlay or --force-base");
  } else if (a.base.empty() || a.overlay.empty()) {
    usage_error(PROG, "--base and --overlay are required (or --flatten)");
  }
  if (!a.level_set && a.wo.method == Method::LZ4) a.wo.level = 1;

  remove_temp_files_on_signals();
  try {
    // Before anything is opened or read: a commit may take minutes.
    if (!a.flatten.empty())
      check_output(a.output, {a.flatten, a.memory}, a.force);
    else
      check_output(a.output, {a.base, a.overlay, default_meta_path(a.overlay), default_base_path(a.overlay), a.memory},
                   a.force);
    if (!a.flatten.empty())
      flatten(a);
    else
      commit(a);
  } catch (const std::exception &e) {
    fprintf(stderr, "%s: %s\n", PROG, exception_message(e).c_str());
    return EXIT_FAILURE_;
  }
  return EXIT_OK;
}

int main(int argc, char **argv) { return run_tool(PROG, tool_main, argc, argv); }
