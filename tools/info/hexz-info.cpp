// hexz-info: describe a .st snapshot (with --verify check every block) or a
// hexz-cow overlay (overlay-info.cpp); with --backing-chain, every element
// of the chain from the overlay down to the last thin parent.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <getopt.h>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "error.h"
#include "format.h"
#include "info-map.h"
#include "json.h"
#include "options.h"
#include "overlay-info.h"
#include "overlay-meta.h"
#include "remote-prefetch.h"
#include "remote-url.h"
#include "snapshot.h"

using namespace hexz;

static const char *const PROG = "hexz-info";

static void help() {
  printf(
      "hexz-info: show what a .st snapshot or a hexz-cow overlay holds\n"
      "\n"
      "Usage: hexz-info [--json | --output=json] [--verify] [--backing-chain] SNAPSHOT.st\n"
      "       hexz-info [--json | --output=json] [--backing-chain] OVERLAY\n"
      "       hexz-info --map [--json | --output=json] SNAPSHOT.st\n"
      "\n"
      "Options:\n"
      "      --json     print the same facts as JSON (schema in hexz-info(1))\n"
      "      --output=human|json\n"
      "                 the same choice in qemu-img's spelling (default: human)\n"
      "      --verify   decode every stored block and check every checksum\n"
      "      --map      print where every block and index page is stored instead\n"
      "      --backing-chain\n"
      "                 describe the whole chain: overlay, its base, the base's parents\n"
      "  -h, --help     show this help\n"
      "  -V, --version  show the version\n"
      "\n"
      "Exit status: 0 success (also for a thin snapshot whose parent is missing: it is\n"
      "described and its parent reported MISSING), 1 error (including damage found by\n"
      "--verify, and a missing parent with --verify), 2 usage error.\n");
}

namespace {

struct StreamStats {
  bool present = false;
  uint64_t size = 0, blocks = 0, data = 0, zero = 0, parent = 0;
  uint64_t unique = 0, stored = 0, dedup_blocks = 0, dedup_saved = 0;
  uint64_t by_method[3] = {0, 0, 0};
  uint64_t pages = 0, stored_pages = 0, zero_pages = 0, parent_pages = 0, damaged_pages = 0, index_bytes = 0;
};

// Decodes blocks LIST (ascending) of stream ID on all cores; appends the
// damage found.  The threads take runs of up to VERIFY_RUN_BYTES of blocks;
// for a snapshot behind a URL the stored bytes of a run are fetched first,
// adjacent blocks in one range request (remote-prefetch.h), so that
// verifying costs a request per run rather than per block, with a run per
// thread in flight (their sum stays well below what RemoteStorage keeps
// fetched ahead).
constexpr uint64_t VERIFY_RUN_BYTES = 16u << 20;

void verify_blocks(const Snapshot &s, StreamId id, const std::vector<uint64_t> &list, std::vector<std::string> &errors) {
  bool remote = false;
  for (const Snapshot *p = &s; p; p = p->parent().get()) remote = remote || is_url(p->path());
  const size_t run = size_t(std::max<uint64_t>(1, VERIFY_RUN_BYTES / s.block_size()));
  std::mutex m;
  std::atomic<size_t> next{0};
  // Remote runs wait on the network more than on a core.
  unsigned nt = std::max(remote ? 8u : 1u, std::thread::hardware_concurrency());
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < nt; t++)
    ts.emplace_back([&] {
      std::vector<unsigned char> buf(s.block_size());
      for (size_t k; (k = next.fetch_add(run)) < list.size();) {
        const size_t end = std::min(list.size(), k + run);
        if (remote) {
          try {
            const uint64_t first = list[k], last = list[end - 1];
            prefetch_blocks(s, id, first, last - first + 1, [&](uint64_t i) {
              return std::binary_search(list.begin() + k, list.begin() + end, i);
            });
          } catch (const Error &) {
            // Each block's own read below fetches again and names what fails.
          }
        }
        for (; k < end; k++) {
          try {
            s.read_block(id, list[k], buf.data());
          } catch (const Error &e) {
            std::lock_guard<std::mutex> g(m);
            errors.push_back(e.what());
          }
        }
      }
    });
  for (auto &t : ts) t.join();
}

// One pass over the page table and the stored pages of stream ID (a page
// at a time: ZERO and PARENT pages are counted without reading anything),
// with VERIFY decoding every DATA block as its page is walked.  Damaged
// pages and blocks are appended to ERRORS.
StreamStats walk(const Snapshot &s, StreamId id, bool verify, std::set<uint64_t> &seen_offsets,
                 std::vector<std::string> &errors) {
  StreamStats st;
  st.present = s.has_stream(id);
  if (!st.present) return st;
  st.size = s.stream_size(id);
  st.blocks = s.block_count(id);
  st.pages = s.page_count(id);
  std::vector<uint64_t> pending;  // DATA blocks to verify
  for (uint64_t p = 0; p < st.pages; p++) {
    const PageRef &ref = s.page_ref(id, p);
    uint32_t n = s.page_length(id, p);
    if (ref.kind == PageKind::ZERO) {
      st.zero_pages++;
      st.zero += n;
      continue;
    }
    if (ref.kind == PageKind::PARENT) {
      st.parent_pages++;
      st.parent += n;
      continue;
    }
    st.stored_pages++;
    st.index_bytes += ref.stored_len;
    Page page;
    try {
      page = s.read_page(id, p);
    } catch (const Error &e) {
      st.damaged_pages++;
      errors.push_back(e.what());
      continue;
    }
    const uint64_t first = p * s.page_entries(id);
    for (uint32_t k = 0; k < n; k++) {
      const IndexEntry &e = page[k];
      switch (e.kind) {
        case BlockKind::ZERO: st.zero++; break;
        case BlockKind::PARENT: st.parent++; break;
        case BlockKind::DATA:
          st.data++;
          if (verify) pending.push_back(first + k);
          if (seen_offsets.insert(e.offset).second) {
            st.unique++;
            st.stored += e.stored_len;
            st.by_method[unsigned(e.method)]++;
          } else {
            st.dedup_blocks++;
            st.dedup_saved += e.stored_len;
          }
          break;
      }
    }
    if (pending.size() >= 4096) {
      verify_blocks(s, id, pending, errors);
      pending.clear();
    }
  }
  if (!pending.empty()) verify_blocks(s, id, pending, errors);
  return st;
}

// Describes the snapshot S (opened from PATH): text on standard output, or
// one object into J.  Returns the damage --verify (or a damaged page) found.
std::vector<std::string> describe_snapshot(const Snapshot &snap, const std::string &path, bool do_verify, Json *jp) {
  const Snapshot *s = &snap;
  const Header &h = s->header();
  const bool parent_missing = s->parent_ref() && !s->parent();
  std::set<uint64_t> seen;
  std::vector<std::string> damage;
  if (do_verify && parent_missing) damage.push_back("cannot verify the blocks of the parent: " + s->parent_error());
  StreamStats st[NUM_STREAMS] = {walk(*s, StreamId::DISK, do_verify, seen, damage),
                                 walk(*s, StreamId::MEMORY, do_verify, seen, damage)};
  if (jp) {
    Json &j = *jp;
    j.begin_object();
    j.key("kind").value("snapshot");
    j.key("file").value(path);
    j.key("version").value(std::to_string(h.version_major) + "." + std::to_string(h.version_minor));
    j.key("uuid").value(uuid_to_string(h.uuid));
    j.key("created").value(h.created);
    j.key("block_size").value(uint64_t(h.block_size));
    j.key("file_size").value(h.file_size);
    j.key("parent");
    if (s->parent_ref()) {
      j.begin_object()
          .key("uuid").value(uuid_to_string(s->parent_ref()->uuid))
          .key("path").value(s->parent_ref()->path)
          .key("present").value(!parent_missing);
      j.key("opened_from");
      if (parent_missing) j.null_value(); else j.value(absolute_path(s->parent_path()));
      j.key("error");
      if (parent_missing) j.value(s->parent_error()); else j.null_value();
      j.end_object();
    } else {
      j.null_value();
    }
    j.key("metadata").begin_object();
    for (auto &[k, v] : s->metadata()) j.key(k).value(v);
    j.end_object();
    j.key("streams").begin_object();
    for (unsigned k = 0; k < NUM_STREAMS; k++) {
      const StreamStats &x = st[k];
      if (!x.present) continue;
      j.key(stream_name(StreamId(k))).begin_object();
      j.key("size").value(x.size).key("blocks").value(x.blocks);
      j.key("data_blocks").value(x.data).key("zero_blocks").value(x.zero).key("parent_blocks").value(x.parent);
      j.key("unique_blocks").value(x.unique).key("stored_bytes").value(x.stored);
      j.key("dedup_blocks").value(x.dedup_blocks).key("dedup_saved_bytes").value(x.dedup_saved);
      j.key("raw_blocks").value(x.by_method[0]).key("lz4_blocks").value(x.by_method[1]);
      j.key("zstd_blocks").value(x.by_method[2]);
      j.key("index_pages").value(x.pages).key("stored_pages").value(x.stored_pages);
      j.key("zero_pages").value(x.zero_pages).key("parent_pages").value(x.parent_pages);
      j.key("damaged_pages").value(x.damaged_pages).key("index_bytes").value(x.index_bytes);
      j.end_object();
    }
    j.end_object();
    if (do_verify) {
      j.key("verify").begin_object().key("ok").value(damage.empty()).key("errors").begin_array();
      for (auto &d : damage) j.value(d);
      j.end_array().end_object();
    }
    j.end_object();
  } else {
    printf("File: %s\n", path.c_str());
    printf("Format version: %u.%u\n", h.version_major, h.version_minor);
    printf("UUID: %s\n", uuid_to_string(h.uuid).c_str());
    printf("Created: %s\n", format_time(h.created).c_str());
    printf("Block size: %u\n", h.block_size);
    printf("File size: %llu (%s)\n", (unsigned long long)h.file_size, format_size(h.file_size).c_str());
    if (s->parent_ref()) {
      printf("Parent: %s (UUID %s)\n", s->parent_ref()->path.c_str(), uuid_to_string(s->parent_ref()->uuid).c_str());
      if (parent_missing)
        printf("Parent status: MISSING (%s)\n", s->parent_error().c_str());
      else
        printf("Parent status: present (%s)\n", absolute_path(s->parent_path()).c_str());
    } else {
      printf("Parent: none\n");
    }
    for (auto &[k, v] : s->metadata()) {
      if (k == "message") printf("Message: %s\n", v.c_str());
      else printf("Metadata: %s=%s\n", k.c_str(), v.c_str());
    }
    for (unsigned k = 0; k < NUM_STREAMS; k++) {
      const StreamStats &x = st[k];
      if (!x.present) continue;
      printf("\nStream %s:\n", stream_name(StreamId(k)));
      printf("  Logical size: %llu (%s)\n", (unsigned long long)x.size, format_size(x.size).c_str());
      printf("  Blocks: %llu (data %llu, zero %llu, parent %llu)\n", (unsigned long long)x.blocks,
             (unsigned long long)x.data, (unsigned long long)x.zero, (unsigned long long)x.parent);
      printf("  Stored: %llu (%s) in %llu unique blocks (zstd %llu, lz4 %llu, raw %llu)\n",
             (unsigned long long)x.stored, format_size(x.stored).c_str(), (unsigned long long)x.unique,
             (unsigned long long)x.by_method[2], (unsigned long long)x.by_method[1],
             (unsigned long long)x.by_method[0]);
      printf("  Dedup: %llu blocks shared, %s saved\n", (unsigned long long)x.dedup_blocks,
             format_size(x.dedup_saved).c_str());
      printf("  Index: %llu pages (stored %llu in %s, zero %llu, parent %llu", (unsigned long long)x.pages,
             (unsigned long long)x.stored_pages, format_size(x.index_bytes).c_str(),
             (unsigned long long)x.zero_pages, (unsigned long long)x.parent_pages);
      if (x.damaged_pages) printf(", DAMAGED %llu", (unsigned long long)x.damaged_pages);
      printf(")\n");
      if (x.stored)
        printf("  Ratio: %.2f (logical size / stored)\n", double(x.size) / double(x.stored));
    }
    if (do_verify) {
      if (damage.empty()) printf("\nVerify: OK, every index page and stored block decodes and matches its checksum\n");
      else printf("\nVerify: FAILED, %zu damaged index pages or blocks\n", damage.size());
    }
  }
  return damage;
}

// Describes PATH and, with CHAIN, what it rests on: an overlay's base, then
// each snapshot's parents.  Text goes out as
// it is made; JSON into J (one object, or with CHAIN an array).  Appends
// the damage found to DAMAGE.
void describe(const std::string &path, bool chain, bool do_verify, Json *j, std::vector<std::string> &damage) {
  std::string next = path;
  bool first = true;
  auto separate = [&] {
    if (!first && !j) printf("\n");
    first = false;
  };
  std::optional<BaseRecord> base;
  if (is_overlay(path)) {
    separate();
    base = describe_overlay(path, j);
    if (!chain || !base) return;
    next = base->path;
  }
  // A thin snapshot is described even when its parent is missing, as
  // qemu-img info does: the parent's status is part of the answer (and the
  // chain ends there).  Neither the description nor the map reads a PARENT
  // block.
  std::shared_ptr<const Snapshot> top = Snapshot::open(next, Snapshot::Parent::OPTIONAL);
  if (base && top->uuid() != base->uuid)
    throw Error(default_base_path(path) + ": overlay " + path + " was written on top of snapshot " +
                    uuid_to_string(base->uuid) + ", but " + next + " is snapshot " + uuid_to_string(top->uuid()),
                EINVAL);
  for (const Snapshot *s = top.get(); s; s = chain ? s->parent().get() : nullptr) {
    separate();
    std::vector<std::string> d = describe_snapshot(*s, s == top.get() ? next : s->path(), do_verify, j);
    damage.insert(damage.end(), d.begin(), d.end());
  }
}

}  // namespace

static int tool_main(int argc, char **argv) {
  enum { OPT_JSON = 256, OPT_OUTPUT, OPT_VERIFY, OPT_MAP, OPT_CHAIN };
  static const struct option longopts[] = {{"json", no_argument, nullptr, OPT_JSON},
                                           {"output", required_argument, nullptr, OPT_OUTPUT},
                                           {"verify", no_argument, nullptr, OPT_VERIFY},
                                           {"map", no_argument, nullptr, OPT_MAP},
                                           {"backing-chain", no_argument, nullptr, OPT_CHAIN},
                                           {"help", no_argument, nullptr, 'h'},
                                           {"version", no_argument, nullptr, 'V'},
                                           {nullptr, 0, nullptr, 0}};
  bool json = false, do_verify = false, do_map = false, chain = false;
  int c;
  while ((c = next_option(PROG, argc, argv, "hV", longopts)) != -1) {
    switch (c) {
      case OPT_JSON: json = true; break;
      case OPT_OUTPUT: json = parse_output(PROG, optarg); break;
      case OPT_VERIFY: do_verify = true; break;
      case OPT_MAP: do_map = true; break;
      case OPT_CHAIN: chain = true; break;
      case 'h': help(); return EXIT_OK;
      case 'V': print_version(PROG); return EXIT_OK;
      default: usage_error(PROG, "unknown option");
    }
  }
  if (argc - optind != 1) usage_error(PROG, "expected one SNAPSHOT.st or OVERLAY");
  if (do_map && do_verify) usage_error(PROG, "--map and --verify cannot be combined");
  if (do_map && chain) usage_error(PROG, "--map and --backing-chain cannot be combined");
  std::string path = argv[optind];

  try {
    if (do_map) {
      print_map(*Snapshot::open(path, Snapshot::Parent::OPTIONAL), path, json, stdout);
      return EXIT_OK;
    }
    std::vector<std::string> damage;
    Json j;
    if (chain && json) j.begin_array();
    describe(path, chain, do_verify, json ? &j : nullptr, damage);
    if (chain && json) j.end_array();
    // JSON only once complete: a failure half-way prints no partial document.
    if (json) printf("%s\n", j.str().c_str());
    for (auto &d : damage) fprintf(stderr, "%s: %s\n", PROG, d.c_str());
    return damage.empty() ? EXIT_OK : EXIT_FAILURE_;
  } catch (const Error &e) {
    fprintf(stderr, "%s: %s\n", PROG, e.what());
    return EXIT_FAILURE_;
  }
}

int main(int argc, char **argv) { return run_tool(PROG, tool_main, argc, argv); }
