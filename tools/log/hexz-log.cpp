// hexz-log TOP.st [PATH...]: the history of a disk, layer by layer, as
// "git log" is of a tree.  It walks TOP's thin chain from the top down to its
// root and says, for each layer, when it was made, its UUID, its commit
// message, how many blocks it stores itself, and which files those blocks
// changed.
//
// The chain is read in-process for what the indexes and headers say
// (Snapshot::open decodes no data block).  The files come from hexz-diff:
// "hexz-diff --files -b PARENT LAYER --json" for each layer (the root is
// diffed against an empty disk, nbdkit's null plugin), so the guest's
// filesystems are parsed where hexz-diff parses them, and the block set of
// each pair comes from the two indexes without reading unchanged data.

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <getopt.h>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>
#include <vector>

#include "config.h"
#include "error.h"
#include "escape.h"
#include "json.h"
#include "nbdkit-server.h"
#include "options.h"
#include "process.h"
#include "snapshot.h"
#include "unique-fd.h"
#include "util.h"

namespace hexz {
namespace {

const char *const PROG = "hexz-log";

void help() {
  printf(
      "hexz-log: the history of a disk, layer by layer\n"
      "\n"
      "Usage: hexz-log [--json] TOP.st [PATH...]\n"
      "\n"
      "Walks TOP.st's chain of thin snapshots from the top down to its root and\n"
      "prints, for each layer, when it was made, its UUID, its message (hexz-commit\n"
      "-m) and the files its own blocks changed (+ added, - removed, = content\n"
      "changed, ~ metadata only), as hexz-diff --files names them.  With PATHs,\n"
      "only the layers that changed one of them (or something below it) are\n"
      "listed, with only those changes.\n"
      "\n"
      "Options:\n"
      "      --json          one JSON document (see hexz-log(1))\n"
      "      --output=json   the same (qemu-img's spelling)\n"
      "  -h, --help          show this help\n"
      "  -V, --version       show the version\n"
      "\n"
      "Exit status: 0 success, 1 error (including a layer whose files could not\n"
      "be listed), 2 usage error.\n");
}

struct FileChange {
  std::string change;  // "+", "-", "=", "~"
  std::string path;
};

struct Layer {
  std::shared_ptr<const Snapshot> snap;
  size_t depth = 0;          // 1 for the root
  uint64_t data_blocks = 0;  // DATA entries of the disk stream
  bool files_resolved = false;
  std::string error;         // why the files could not be listed
  std::vector<FileChange> changes;
};

std::string message_of(const Snapshot &s) {
  for (auto &[k, v] : s.metadata())
    if (k == "message") return v;
  return "";
}

// The layer's DATA blocks, page by page: ZERO and PARENT pages hold none and
// cost no read, so a thin layer on a huge disk costs its stored pages only.
uint64_t count_data(const Snapshot &s) {
  if (!s.has_stream(StreamId::DISK)) return 0;
  uint64_t n = 0;
  for (uint64_t p = 0; p < s.page_count(StreamId::DISK); p++) {
    if (s.page_ref(StreamId::DISK, p).kind != PageKind::STORED) continue;
    for (const IndexEntry &e : s.read_page(StreamId::DISK, p))
      if (e.kind == BlockKind::DATA) n++;
  }
  return n;
}

// Runs ARGS and returns its standard output; its standard error passes
// through.  EXIT gets the exit status.
std::string run_capture(const std::vector<std::string> &args, int &exit) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) throw_errno("pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  SpawnOptions so;
  so.stdout_fd = wr.get();
  pid_t pid = spawn_program(args, so);
  wr.reset();
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, size_t(n));
  }
  exit = wait_program(pid);
  return out;
}

// Every object in J with a "change" and a "path" (the file lists of
// hexz-diff's JSON, whatever their nesting).
void collect_changes(const nlohmann::json &j, std::vector<FileChange> &out) {
  if (j.is_object()) {
    auto c = j.find("change"), p = j.find("path");
    if (c != j.end() && p != j.end() && c->is_string() && p->is_string()) {
      out.push_back({c->get<std::string>(), p->get<std::string>()});
      return;
    }
    for (auto &[k, v] : j.items()) collect_changes(v, out);
  } else if (j.is_array()) {
    for (auto &v : j) collect_changes(v, out);
  }
}

// The files LAYER's blocks changed: hexz-diff --files -b against its
// parent, or against an empty disk of the same size for the root.
void resolve_files(Layer &l) {
  const Snapshot &s = *l.snap;
  std::unique_ptr<NbdkitServer> empty;
  std::string base = s.parent_path();
  if (!s.parent()) {
    ServeOptions so;
    so.plugin = "null";
    so.params.push_back("size=" + std::to_string(s.stream_size(StreamId::DISK)));
    empty = std::make_unique<NbdkitServer>(so);
    base = empty->uri();
  }
  int status = 0;
  std::string out = run_capture({"hexz-diff", "--files", "--json", "-b", base, s.path()}, status);
  if (status != 0) {
    l.error = "hexz-diff --files -b " + base + " " + s.path() + " exited with status " + std::to_string(status);
    return;
  }
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded()) {
    l.error = "hexz-diff --files --json printed no valid JSON";
    return;
  }
  collect_changes(j, l.changes);
  l.files_resolved = true;
}

// Whether PATH is one of PATHS or lies below one of them.
bool wanted(const std::string &path, const std::vector<std::string> &paths) {
  if (paths.empty()) return true;
  for (const std::string &p : paths) {
    if (path == p) return true;
    const std::string dir = p.back() == '/' ? p : p + "/";
    if (path.compare(0, dir.size(), dir) == 0) return true;
  }
  return false;
}

void print_text(const std::vector<Layer> &layers, size_t chain, const std::vector<std::string> &paths) {
  bool first = true;
  for (size_t i = 0; i < layers.size(); i++) {
    const Layer &l = layers[i];
    const Snapshot &s = *l.snap;
    if (!first) printf("\n");
    first = false;
    printf("layer %zu of %zu: %s\n", l.depth, chain, escape_text(s.path()).c_str());
    printf("UUID:    %s\n", uuid_to_string(s.uuid()).c_str());
    printf("Created: %s\n", format_time(s.header().created).c_str());
    std::string msg = message_of(s);
    if (!msg.empty()) printf("Message: %s\n", escape_text(msg).c_str());
    printf("Blocks:  %llu of %u bytes stored in this layer (%s)%s\n", (unsigned long long)l.data_blocks,
           s.block_size(), format_size(l.data_blocks * s.block_size()).c_str(),
           s.parent() ? "" : ", the root of the chain");
    if (!l.files_resolved) {
      printf("Files:   could not be listed: %s\n", escape_text(l.error).c_str());
      continue;
    }
    for (const FileChange &c : l.changes)
      if (wanted(c.path, paths)) printf("  %s %s\n", escape_text(c.change).c_str(), escape_text(c.path).c_str());
  }
}

void print_json(const std::vector<Layer> &layers, const std::vector<std::string> &paths) {
  Json j;
  j.begin_object();
  j.key("layers").begin_array();
  for (size_t i = 0; i < layers.size(); i++) {
    const Layer &l = layers[i];
    const Snapshot &s = *l.snap;
    j.begin_object();
    j.key("depth").value(uint64_t(l.depth));
    j.key("path").value(s.path());
    j.key("uuid").value(uuid_to_string(s.uuid()));
    j.key("created").value(s.header().created);
    j.key("message").value(message_of(s));
    j.key("block_size").value(uint64_t(s.block_size()));
    j.key("data_blocks").value(l.data_blocks);
    if (s.parent())
      j.key("parent").value(s.parent_path());
    else
      j.key("parent").null_value();
    j.key("files_resolved").value(l.files_resolved);
    if (!l.files_resolved) j.key("error").value(l.error);
    j.key("changes").begin_array();
    for (const FileChange &c : l.changes) {
      if (!wanted(c.path, paths)) continue;
      j.begin_object();
      j.key("change").value(c.change);
      j.key("path").value(c.path);
      j.end_object();
    }
    j.end_array();
    j.end_object();
  }
  j.end_array();
  j.end_object();
  printf("%s\n", j.str().c_str());
}

int run(int argc, char **argv) {
  enum { OPT_JSON = 256, OPT_OUTPUT };
  static const struct option longopts[] = {{"json", no_argument, nullptr, OPT_JSON},
                                           {"output", required_argument, nullptr, OPT_OUTPUT},
                                           {"help", no_argument, nullptr, 'h'},
                                           {"version", no_argument, nullptr, 'V'},
                                           {nullptr, 0, nullptr, 0}};
  bool json = false;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+hV", longopts, nullptr)) != -1) {
    switch (c) {
      case OPT_JSON: json = true; break;
      case OPT_OUTPUT:
        if (strcmp(optarg, "json") == 0)
          json = true;
        else if (strcmp(optarg, "human") != 0)
          usage_error(PROG, std::string("--output must be json or human, not '") + optarg + "'");
        break;
      case 'h': help(); return EXIT_OK;
      case 'V': print_version(PROG); return EXIT_OK;
      default: usage_error(PROG, std::string("unknown option '") + argv[optind - 1] + "'");
    }
  }
  if (optind >= argc) usage_error(PROG, "expected TOP.st");
  const std::string top = argv[optind];
  const std::vector<std::string> paths(argv + optind + 1, argv + argc);
  for (const std::string &p : paths)
    if (p.empty() || p[0] != '/') usage_error(PROG, "a PATH is absolute inside the guest, e.g. /etc/hosts, not '" + p + "'");

  std::vector<Layer> layers;
  for (auto s = Snapshot::open(top); s; s = s->parent()) {
    Layer l;
    l.snap = s;
    layers.push_back(std::move(l));
  }
  const size_t chain = layers.size();
  for (size_t i = 0; i < chain; i++) layers[i].depth = chain - i;
  bool all_resolved = true;
  for (Layer &l : layers) {
    l.data_blocks = count_data(*l.snap);
    resolve_files(l);
    if (!l.files_resolved) {
      all_resolved = false;
      fprintf(stderr, "%s: %s: files could not be listed: %s\n", PROG, l.snap->path().c_str(), l.error.c_str());
    }
  }
  // With PATHs, only the layers that changed one of them (a layer whose
  // files are unknown stays: it may have).
  if (!paths.empty()) {
    std::vector<Layer> kept;
    for (Layer &l : layers) {
      bool hit = !l.files_resolved;
      for (const FileChange &fc : l.changes) hit = hit || wanted(fc.path, paths);
      if (hit) kept.push_back(std::move(l));
    }
    layers = std::move(kept);
  }
  if (json)
    print_json(layers, paths);
  else
    print_text(layers, chain, paths);
  return all_resolved ? EXIT_OK : EXIT_FAILURE_;
}

}  // namespace
}  // namespace hexz

int main(int argc, char **argv) { return hexz::run_tool("hexz-log", hexz::run, argc, argv); }
