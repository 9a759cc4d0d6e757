#include "overlay-files.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <libnbd.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay-resolve.h"
#include "error.h"
#include "fs/fsmap.h"
#include "map-both.h"
#include "nbd-source.h"
#include "nbdkit-server.h"
#include "options.h"
#include "overlay-meta.h"
#include "remote-url.h"
#include "base-image.h"
#include "overlay-lock.h"
#include "snapshot.h"
#include "util.h"
#include "virt-diff-output.h"

namespace hexz {

namespace {

const char *const PROG = "hexz-diff";

std::string plural(uint64_t n, const char *word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

void print_block_list(const std::vector<uint64_t> &blocks) {
  printf("Modified Block Indices:\n");
  for (uint64_t b : blocks) printf("  Block %llu\n", (unsigned long long)b);
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

std::string meta_path(const OverlayFilesOptions &o) {
  return o.meta.empty() ? default_meta_path(o.overlay) : o.meta;
}

// The base snapshot: --base, else the one the .base record names ("" if
// neither).
std::string find_base(const OverlayFilesOptions &o) {
  if (!o.base.empty()) return o.base;
  auto rec = read_base_record(default_base_path(o.overlay));
  return rec ? rec->path : "";
}

// Without a base there is nothing to map: the block list and how to get
// file names.
int print_without_base(const OverlayFilesOptions &o, const std::vector<uint64_t> &blocks, bool meta_present) {
  if (o.json) {
    Json j;
    j.begin_object();
    json_overlay_head(j, "file-diff", o.overlay, meta_path(o), meta_present, blocks.size());
    j.key("files_resolved").value(false);
    j.key("reason").value("no base snapshot: no .base record beside the overlay and no --base");
    j.key("filesystems").begin_array().end_array();
    j.key("blocks").begin_array();
    for (uint64_t b : blocks) j.value(b);
    j.end_array();
    j.end_object();
    puts(j.str().c_str());
  } else {
    print_block_list(blocks);
    printf("\nFile names need the base snapshot: there is no base record \"%s\";\n"
           "run again with --base BASE (the .st or raw image it was written on) to resolve them to files.\n",
           default_base_path(o.overlay).c_str());
  }
  return EXIT_OK;
}

// The overlay as the after view's nbdkit sees it: a symlink in a private
// directory, with a copy of the .base record if there is one.  The hexz-cow
// filter checks that record (an overlay on the wrong base is still refused)
// and then writes or updates the record beside the overlay it was given:
// here, in the private directory, because a report must not change the
// state of what it reports on (hexz-diff --files --base B used to leave a
// .base where there was none).
class PrivateOverlay {
 public:
  explicit PrivateOverlay(const std::string &overlay) {
    dir_ = make_temp_dir(temp_dir(), "hexz-diff");
    path_ = dir_ + "/view.overlay";
    record_ = default_base_path(path_);
    try {
      if (symlink(absolute_path(overlay).c_str(), path_.c_str()) != 0) throw_errno(path_ + ": symlink");
      if (auto rec = read_base_record(default_base_path(overlay))) write_base_record(record_, *rec);
    } catch (...) {
      remove();
      throw;
    }
  }
  ~PrivateOverlay() { remove(); }
  PrivateOverlay(const PrivateOverlay &) = delete;
  PrivateOverlay &operator=(const PrivateOverlay &) = delete;
  const std::string &path() const { return path_; }

 private:
  void remove() {
    unlink(record_.c_str());
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_, path_, record_;
};

// The filter refuses an overlay on another base than its .base record
// names, but would name its private copy (PrivateOverlay): say it here,
// with the real names.  A raw base matches no record (the filter records
// only snapshots), but an overlay without one can have a raw base.
void check_base_record(const OverlayFilesOptions &o, const BaseImage &base) {
  const std::string path = default_base_path(o.overlay);
  auto rec = read_base_record(path);
  if (!rec) return;
  std::string why = base_record_mismatch(path, o.overlay, *rec, base);
  if (!why.empty()) throw Error(why, EINVAL);
}

// The two views of the disk, each served by its own nbdkit: before = the
// base snapshot, after = the base with the overlay (hexz-cow, read-only).
struct Views {
  PrivateOverlay overlay;
  NbdkitServer before_srv, after_srv;
  std::unique_ptr<Source> before, after;
  // Their connections, owned by the Sources, borrowed for batched reads
  // (libnbd handles are thread-safe).
  nbd_handle *before_h = nullptr, *after_h = nullptr;

  static ServeOptions serve(const BaseImage &base, const std::string &overlay, const std::string &meta) {
    ServeOptions s = base.serve_options();
    s.overlay = overlay;
    if (!meta.empty()) s.params.push_back("meta=" + meta);
    return s;
  }
  // The .meta is named explicitly: the filter would look for it beside the
  // symlink.
  Views(const BaseImage &base, const OverlayFilesOptions &o)
      : overlay(o.overlay),
        before_srv(serve(base, "", "")),
        after_srv(serve(base, overlay.path(), absolute_path(meta_path(o)))) {
    NbdHandle b = before_srv.connect(), a = after_srv.connect();
    before_h = b.get();
    after_h = a.get();
    before = nbd_handle_source(std::move(b), "before view of " + base.path);
    after = nbd_handle_source(std::move(a), "after view of " + o.overlay);
  }

  // COUNT blocks from FIRST of both views (COUNT x OVERLAY_BLOCK bytes
  // each); a view shorter than that reads as zeroes past its end.
  void read_both(uint64_t first, uint64_t count, unsigned char *pb, unsigned char *pa) const {
    const uint64_t off = first * OVERLAY_BLOCK, len = count * OVERLAY_BLOCK;
    for (auto [src, p] : {std::pair{before.get(), pb}, std::pair{after.get(), pa}}) {
      const uint64_t n = off < src->size() ? std::min(len, src->size() - off) : 0;
      if (n) src->pread(p, size_t(n), off);
      memset(p + n, 0, size_t(len - n));
    }
  }

  // The blocks of BLOCKS whose bytes differ between the views.  The .meta
  // lists every block written, and a block rewritten with the bytes it
  // had (qemu-img convert -n, a guest rewriting unchanged data) changed
  // nothing: no file may be named for it.  Runs of consecutive blocks are
  // read in one request per view, and up to BATCH runs are in flight on
  // each connection at once: written blocks are often scattered, and one
  // round trip per block would dominate the whole report.
  std::vector<uint64_t> differing(const std::vector<uint64_t> &blocks) const {
    constexpr uint64_t RUN = 256;             // blocks per request (1 MiB)
    constexpr size_t BATCH = 64;              // requests in flight per view
    constexpr uint64_t BATCH_BLOCKS = 4096;   // 16 MiB per view
    std::vector<unsigned char> pb(BATCH_BLOCKS * OVERLAY_BLOCK), pa(BATCH_BLOCKS * OVERLAY_BLOCK);
    std::vector<uint64_t> out;
    std::vector<Run> runs;
    for (size_t i = 0; i < blocks.size();) {
      runs.clear();
      uint64_t used = 0;
      while (i < blocks.size() && runs.size() < BATCH) {
        uint64_t n = 1;
        while (i + n < blocks.size() && n < RUN && blocks[i + n] == blocks[i] + n) n++;
        if (used + n > BATCH_BLOCKS) break;
        runs.push_back({blocks[i], n, used});
        used += n;
        i += n;
      }
      read_runs(runs, pb.data(), pa.data());
      for (const Run &r : runs)
        for (uint64_t k = r.at; k < r.at + r.count; k++)
          if (memcmp(pb.data() + k * OVERLAY_BLOCK, pa.data() + k * OVERLAY_BLOCK, OVERLAY_BLOCK) != 0)
            out.push_back(r.first + (k - r.at));
    }
    return out;
  }

 private:
  struct Run {
    uint64_t first, count;  // blocks
    uint64_t at;            // where in the batch buffers, in blocks
  };

  // Reads RUNS of both views into PB and PA, every request issued before
  // any is waited for; a view shorter than a run reads as zeroes past its
  // end.  Every issued request completes before this returns or throws
  // (the buffers are the caller's).
  void read_runs(const std::vector<Run> &runs, unsigned char *pb, unsigned char *pa) const {
    struct View {
      nbd_handle *h;
      const Source *src;
      unsigned char *buf;
      std::vector<int64_t> cookies;
    } views[2] = {{before_h, before.get(), pb, {}}, {after_h, after.get(), pa, {}}};
    std::string error;
    for (View &v : views)
      for (const Run &r : runs) {
        unsigned char *p = v.buf + r.at * OVERLAY_BLOCK;
        const uint64_t off = r.first * OVERLAY_BLOCK, len = r.count * OVERLAY_BLOCK;
        const uint64_t n = off < v.src->size() ? std::min(len, v.src->size() - off) : 0;
        memset(p + n, 0, size_t(len - n));
        if (n == 0 || !error.empty()) continue;
        int64_t c = nbd_aio_pread(v.h, p, size_t(n), off, NBD_NULL_COMPLETION, 0);
        if (c == -1)
          error = v.src->name() + ": read: " + nbd_get_error();
        else
          v.cookies.push_back(c);
      }
    for (View &v : views)
      for (int64_t c : v.cookies) {
        int r;
        while ((r = nbd_aio_command_completed(v.h, uint64_t(c))) == 0)
          if (nbd_poll(v.h, -1) == -1) break;
        if (r != 1 && error.empty())
          error = v.src->name() + ": read: " + (nbd_get_error() ? nbd_get_error() : "request failed");
      }
    if (!error.empty()) throw Error(error, EIO);
  }
};

void json_areas(Json &j, const char *name, const std::vector<AreaCount> &v) {
  j.key(name).begin_array();
  for (auto &a : v) {
    j.begin_object();
    j.key("where").value(a.where);
    j.key("area").value(a.area);
    j.key("blocks").value(a.blocks);
    j.end_object();
  }
  j.end_array();
}

// One change, as the image mode writes it too (hexz-diff.schema.json,
// $defs/change), plus the modified blocks holding its bytes.
void json_change_object(Json &j, const FileChange &f) {
  j.begin_object();
  j.key("change").value(json_change(f.change));
  j.key("path").value(f.path);
  if (f.before) json_node(j.key("before"), *f.before);
  if (f.after) json_node(j.key("after"), *f.after);
  if (f.change == '=' || f.change == 's') {
    j.key("changed").begin_array();
    if (f.change == '=') j.value("content");
    for (auto &c : f.changed) j.value(c);
    j.end_array();
  }
  j.key("blocks").value(f.blocks);
  j.end_object();
}

void print_json(const OverlayFilesOptions &o, const std::string &base, bool meta_present,
                const std::vector<uint64_t> &blocks, const fs::DiskMap &after, const Resolution &r,
                uint64_t unchanged, bool complete) {
  Json j;
  j.begin_object();
  json_overlay_head(j, "file-diff", o.overlay, meta_path(o), meta_present, blocks.size());
  j.key("base").value(base);
  j.key("files_resolved").value(true);
  j.key("partition_table").value(after.table.scheme);
  j.key("filesystems").begin_array();
  for (auto &f : after.filesystems) {
    j.begin_object();
    j.key("partition").value(uint64_t(f.part.number));
    j.key("label").value(f.label());
    j.key("type").value(f.type);
    j.key("compared").value(f.status == fs::FsStatus::OK);
    if (f.status != fs::FsStatus::OK) j.key("message").value(f.message);
    j.key("status").value(status_name(f.status));
    j.key("start").value(f.part.start);
    j.key("length").value(f.part.length);
    j.key("changes").begin_array();
    for (auto &c : r.files)
      if (c.partition == f.part.number) json_change_object(j, c);
    j.end_array();
    j.end_object();
  }
  j.end_array();
  json_areas(j, "metadata", r.metadata);
  json_areas(j, "free", r.free);
  json_areas(j, "unresolved", r.unresolved);
  j.key("summary").begin_object();
  j.key("files").value(r.in_files);
  j.key("metadata").value(r.in_metadata);
  j.key("free").value(r.in_free);
  j.key("unresolved").value(r.in_unresolved);
  j.key("partition_tables").value(r.in_tables);
  j.key("outside_partitions").value(r.outside);
  j.key("unchanged").value(unchanged);
  j.end_object();
  j.key("warnings").begin_array();
  for (auto &w : r.warnings) j.value(w);
  j.end_array();
  j.key("complete").value(complete);
  j.key("blocks").begin_array();
  for (uint64_t b : blocks) j.value(b);
  j.end_array();
  j.end_object();
  puts(j.str().c_str());
}

void print_header(const OverlayFilesOptions &o, const std::string &base, uint64_t total, bool meta_present) {
  printf("Overlay: \"%s\"\n", o.overlay.c_str());
  printf("Base: \"%s\"\n", base.c_str());
  printf("Modified Blocks: %llu\n", (unsigned long long)total);
  printf("Estimated Size: %s\n", format_size(total * OVERLAY_BLOCK).c_str());
  if (!meta_present) printf("No .meta file: no block is modified.\n");
}

// The file lines, grouped under a "partition N (TYPE):" heading each.
void print_files(const fs::DiskMap &after, const Resolution &r) {
  VirtDiffWriter w({});
  unsigned last_part = ~0u;
  for (auto &f : r.files) {
    if (f.partition != last_part) {
      last_part = f.partition;
      for (auto &fsm : after.filesystems)
        if (fsm.part.number == f.partition) printf("\n%s:\n", fsm.label().c_str());
    }
    LineExtras count;
    count.note = "(" + plural(f.blocks, "modified block") + ")";
    if (f.change == 's') {
      w.stat_pair(*f.before, {}, *f.after, count, f.path, f.changed);
    } else {
      // virt-diff shows the old status of a changed file (the new one if it has no old one).
      const fs::Node &n = f.change == '+' || !f.before ? *f.after : *f.before;
      w.file(f.change, n, f.path, count);
    }
  }
}

void print_text(const OverlayFilesOptions &o, const std::string &base, bool meta_present,
                const std::vector<uint64_t> &blocks, const fs::DiskMap &after, const Resolution &r,
                uint64_t unchanged) {
  for (auto &w : r.warnings) fprintf(stderr, "%s: warning: %s\n", PROG, escape_text(w).c_str());
  const uint64_t total = blocks.size();
  print_header(o, base, total, meta_present);
  print_files(after, r);
  if (!r.metadata.empty() || !r.free.empty() || !r.unresolved.empty()) printf("\n");
  for (auto *v : {&r.metadata, &r.free, &r.unresolved})
    for (auto &a : *v)
      printf("%s: %s: %s\n", escape_text(a.where).c_str(), escape_text(a.area).c_str(),
             plural(a.blocks, "block").c_str());

  printf("\nSummary of %s:\n", plural(total, "modified block").c_str());
  printf("  in files:            %llu\n", (unsigned long long)r.in_files);
  printf("  filesystem metadata: %llu\n", (unsigned long long)r.in_metadata);
  printf("  free space:          %llu\n", (unsigned long long)r.in_free);
  printf("  unresolved:          %llu\n", (unsigned long long)r.in_unresolved);
  printf("  partition tables:    %llu\n", (unsigned long long)r.in_tables);
  printf("  outside partitions:  %llu\n", (unsigned long long)r.outside);
  printf("  same as the base:    %llu\n", (unsigned long long)unchanged);
  printf("\n");
  print_block_list(blocks);
}

}  // namespace

void json_overlay_head(Json &j, const char *kind, const std::string &overlay, const std::string &meta,
                       bool meta_present, uint64_t total) {
  j.key("kind").value(kind);
  j.key("overlay").value(overlay);
  j.key("meta").value(meta);
  j.key("meta_present").value(meta_present);
  j.key("modified_blocks").value(total);
  j.key("size_bytes").value(total * OVERLAY_BLOCK);
  j.key("size").value(format_size(total * OVERLAY_BLOCK));
}

int overlay_files(const OverlayFilesOptions &o, const std::vector<uint64_t> &blocks, bool meta_present) {
  const std::string base = find_base(o);
  if (base.empty()) return print_without_base(o, blocks, meta_present);
  struct stat st;
  if (!is_url(base) && stat(base.c_str(), &st) != 0) {
    const int err = errno;
    // A base named by the record may have moved on its own: say how to
    // re-point the record.
    throw Error(base + ": base snapshot: " + strerror(err) +
                    (o.base.empty() ? " (named by " + default_base_path(o.overlay) +
                                          "; if it moved, hexz-rebase " + o.overlay +
                                          " NEW-BASE.st re-points the record, or give --base)"
                                    : std::string()),
                err);
  }
  if (blocks.empty() && !o.json) {
    // Nothing modified: both views are the same disk, no file can differ.
    print_header(o, base, 0, meta_present);
    printf("\nModified Block Indices:\n");
    return EXIT_OK;
  }

  const BaseImage base_image = open_base_image(base);
  check_base_record(o, base_image);
  // The filter would name its private symlink: name the overlay and its
  // holder here (an overlay being written has writes .meta does not list).
  check_overlay_free(o.overlay);
  Views v(base_image, o);
  fs::DiskMap before, after;
  map_both({[&] { return nbd_handle_source(v.before_srv.connect(), v.before->name()); }, v.before->size()},
           {[&] { return nbd_handle_source(v.after_srv.connect(), v.after->name()); }, v.after->size()}, before, after,
           o.parser_timeout);
  const std::vector<uint64_t> changed = v.differing(blocks);
  Resolution r = resolve_blocks(before, after, changed, [&](uint64_t b, unsigned char *pb, unsigned char *pa) {
    v.read_both(b, 1, pb, pa);
  });
  const uint64_t unchanged = blocks.size() - changed.size();
  // Damage anywhere, or modified blocks in a partition whose files could
  // not be resolved: the file list may be missing entries.
  const int rc = r.warnings.empty() && r.in_unreadable == 0 ? EXIT_OK : EXIT_INCOMPLETE;
  if (o.json)
    print_json(o, base, meta_present, blocks, after, r, unchanged, rc == EXIT_OK);
  else
    print_text(o, base, meta_present, blocks, after, r, unchanged);
  return rc;
}

}  // namespace hexz
