// hexz-rebase: re-point a thin snapshot at its parent, or an overlay's .base
// record at its base, after files were moved (qemu-img rebase -u): only the
// reference changes, never a data block, and only to a snapshot of the UUID
// the reference names unless --force.

#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <getopt.h>
#include <string>

#include "error.h"
#include "image-format.h"
#include "json.h"
#include "options.h"
#include "overlay-meta.h"
#include "remote-url.h"
#include "reparent.h"
#include "same-file.h"
#include "snapshot.h"
#include "util.h"

using namespace hexz;

static const char *const PROG = "hexz-rebase";

static void help() {
  printf(
      "hexz-rebase: re-point a thin snapshot's parent or an overlay's base after a move\n"
      "\n"
      "Usage: hexz-rebase [--force] [--json] THIN.st NEW-PARENT.st\n"
      "       hexz-rebase [--force] [--json] OVERLAY NEW-BASE.st\n"
      "\n"
      "The new parent (or base) must carry the UUID the reference names: the same\n"
      "snapshot under another path.  Only the reference is rewritten (temporary file,\n"
      "fsync, rename); no data is copied between parents, as qemu-img rebase -u.\n"
      "\n"
      "Options:\n"
      "  -f, --force    accept a new parent or base of another UUID (or, for an\n"
      "                 overlay, disk size), or an overlay without a .base record\n"
      "      --json     print what was done as JSON (schema in hexz-rebase(1))\n"
      "      --output=human|json\n"
      "                 the same choice in qemu-img's spelling (default: human)\n"
      "  -h, --help     show this help\n"
      "  -V, --version  show the version\n"
      "\n"
      "Exit status: 0 re-pointed, 1 error (including a refused UUID), 2 usage error.\n");
}

namespace {

struct Ref {
  std::string path;  // as resolved (absolute path or URL); "" if unknown
  std::string stored;  // as written in the file
  Uuid uuid{};
};

struct Result {
  std::string file, kind, record;
  Ref old_ref, new_ref;
  bool uuid_changed = false;
};

Error mismatch(const std::string &file, const std::string &what, const Ref &old_ref, const std::string &target,
               const Uuid &uuid) {
  return Error(file + ": " + what + " " + (old_ref.stored.empty() ? "" : old_ref.stored + " ") + "has UUID " +
                   uuid_to_string(old_ref.uuid) + ", but " + target + " is snapshot " + uuid_to_string(uuid) +
                   "; refusing to re-point it at another snapshot (--force overrides)",
               EINVAL);
}

// THIN.st onto NEW_PARENT: the PARENT section rewritten, the UUID checked.
Result rebase_snapshot(const std::string &file, const std::string &new_parent, bool force) {
  if (is_url(file)) throw Error(file + ": a snapshot behind a URL cannot be rewritten", EINVAL);
  auto child = Snapshot::open(file, Snapshot::Parent::OPTIONAL);
  if (!child->parent_ref())
    throw Error(file + ": a standalone snapshot has no parent to re-point (hexz-diff -O st makes a thin one)",
                EINVAL);
  Result r;
  r.file = file;
  r.kind = "snapshot";
  r.old_ref.stored = child->parent_ref()->path;
  r.old_ref.uuid = child->parent_ref()->uuid;
  r.old_ref.path = is_url(r.old_ref.stored) ? r.old_ref.stored : absolute_path(resolve_relative(file, r.old_ref.stored));

  if (!is_url(new_parent) && same_file(new_parent, file))
    throw Error(file + ": cannot be its own parent", EINVAL);
  auto parent = Snapshot::open(new_parent);
  unsigned depth = 1;  // the child
  for (const Snapshot *s = parent.get(); s; s = s->parent().get(), depth++)
    if (s->uuid() == child->uuid())
      throw Error(file + ": " + new_parent + " has " + file + " (UUID " + uuid_to_string(child->uuid()) +
                      ") in its own chain; it cannot be its parent",
                  EINVAL);
  if (depth > MAX_CHAIN_DEPTH)
    throw Error(file + ": on " + new_parent + " its chain would hold " + std::to_string(depth) +
                    " snapshots, more than the limit of " + std::to_string(MAX_CHAIN_DEPTH),
                EINVAL);
  if (parent->uuid() != r.old_ref.uuid && !force) throw mismatch(file, "its parent", r.old_ref, new_parent, parent->uuid());

  r.new_ref.path = absolute_path(new_parent);
  r.new_ref.stored = relative_path(r.new_ref.path, dir_name(absolute_path(file)));
  r.new_ref.uuid = parent->uuid();
  r.uuid_changed = r.new_ref.uuid != r.old_ref.uuid;
  ParentRef ref;
  ref.uuid = r.new_ref.uuid;
  ref.path = r.new_ref.stored;
  rewrite_parent_ref(file, ref);
  Snapshot::open(file);  // the chain opens as it now stands
  return r;
}

// OVERLAY onto NEW_BASE: the .base record rewritten, the UUID checked.
Result rebase_overlay(const std::string &overlay, const std::string &new_base, bool force) {
  check_overlay_name(overlay);  // OVERLAY.base of a side file would be nobody's record
  open_regular(overlay, O_RDONLY, "an overlay");
  Result r;
  r.file = overlay;
  r.kind = "overlay";
  r.record = default_base_path(overlay);
  auto old = read_base_record(r.record);
  auto base = Snapshot::open(new_base);
  const uint64_t size = base->stream_size(StreamId::DISK);
  if (old) {
    r.old_ref.path = old->path;
    r.old_ref.stored = old->stored;
    r.old_ref.uuid = old->uuid;
    if (!force && old->uuid != base->uuid()) throw mismatch(r.record, "the overlay's base", r.old_ref, new_base, base->uuid());
    if (!force && old->disk_size != size)
      throw Error(r.record + ": the overlay " + overlay + " was written on a disk of " + std::to_string(old->disk_size) +
                      " bytes, but " + new_base + " has " + std::to_string(size) + " (--force overrides)",
                  EINVAL);
  } else if (!force) {
    throw Error(overlay + ": no base record " + r.record +
                    ", so there is no UUID to check the new base against (--force writes one)",
                EINVAL);
  }
  BaseRecord rec;
  rec.uuid = base->uuid();
  rec.path = absolute_path(new_base);
  rec.disk_size = size;
  write_base_record(r.record, rec);
  r.new_ref.path = rec.path;
  r.new_ref.stored = relative_path(rec.path, dir_name(absolute_path(r.record)));
  r.new_ref.uuid = rec.uuid;
  r.uuid_changed = !old || old->uuid != rec.uuid;
  return r;
}

void json_ref(Json &j, const Ref &ref) {
  if (ref.stored.empty()) {
    j.null_value();
    return;
  }
  j.begin_object().key("path").value(ref.path).key("stored").value(ref.stored);
  j.key("uuid").value(uuid_to_string(ref.uuid)).end_object();
}

void print(const Result &r, bool json) {
  if (json) {
    Json j;
    j.begin_object();
    j.key("file").value(r.file).key("kind").value(r.kind);
    j.key("record");
    if (r.record.empty()) j.null_value(); else j.value(r.record);
    j.key("old");
    json_ref(j, r.old_ref);
    j.key("new");
    json_ref(j, r.new_ref);
    j.key("uuid_changed").value(r.uuid_changed);
    j.end_object();
    puts(j.str().c_str());
    return;
  }
  printf("%s: %s is now %s (UUID %s)\n", (r.record.empty() ? r.file : r.record).c_str(),
         r.kind == "snapshot" ? "parent" : "base", r.new_ref.stored.c_str(), uuid_to_string(r.new_ref.uuid).c_str());
  if (!r.old_ref.stored.empty())
    printf("  was %s (UUID %s)%s\n", r.old_ref.stored.c_str(), uuid_to_string(r.old_ref.uuid).c_str(),
           r.uuid_changed ? ", another snapshot (--force)" : "");
}

}  // namespace

static int tool_main(int argc, char **argv) {
  enum { OPT_JSON = 256, OPT_OUTPUT };
  static const struct option longopts[] = {{"force", no_argument, nullptr, 'f'},
                                           {"json", no_argument, nullptr, OPT_JSON},
                                           {"output", required_argument, nullptr, OPT_OUTPUT},
                                           {"help", no_argument, nullptr, 'h'},
                                           {"version", no_argument, nullptr, 'V'},
                                           {nullptr, 0, nullptr, 0}};
  bool json = false, force = false;
  int c;
  while ((c = next_option(PROG, argc, argv, "fhV", longopts)) != -1) {
    switch (c) {
      case 'f': force = true; break;
      case OPT_JSON: json = true; break;
      case OPT_OUTPUT: json = parse_output(PROG, optarg); break;
      case 'h': help(); return EXIT_OK;
      case 'V': print_version(PROG); return EXIT_OK;
      default: usage_error(PROG, "unknown option");
    }
  }
  if (argc - optind != 2) usage_error(PROG, "expected THIN.st NEW-PARENT.st, or OVERLAY NEW-BASE.st");
  const std::string file = argv[optind], target = argv[optind + 1];
  remove_temp_files_on_signals();
  try {
    // A .st is re-pointed at its parent; anything else is an overlay.
    const bool snapshot = is_url(file) || starts_with_snapshot_magic(file);
    print(snapshot ? rebase_snapshot(file, target, force) : rebase_overlay(file, target, force), json);
    return EXIT_OK;
  } catch (const Error &e) {
    fprintf(stderr, "%s: %s\n", PROG, e.what());
    return EXIT_FAILURE_;
  }
}

int main(int argc, char **argv) { return run_tool(PROG, tool_main, argc, argv); }
