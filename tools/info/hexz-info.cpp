// hexz-info: describe a .st snapshot, and with --verify check every block.

#include <atomic>
#include <cstdio>
#include <ctime>
#include <getopt.h>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "error.h"
#include "format.h"
#include "json.h"
#include "options.h"
#include "snapshot.h"

using namespace hexz;

static const char *const PROG = "hexz-info";

static void help() {
  printf(
      "hexz-info: show what a .st snapshot holds\n"
      "\n"
      "Usage: hexz-info [--json] [--verify] SNAPSHOT.st\n"
      "\n"
      "Options:\n"
      "      --json     print the same facts as JSON\n"
      "      --verify   decode every stored block and check every checksum\n"
      "  -h, --help     show this help\n"
      "  -V, --version  show the version\n"
      "\n"
      "Exit status: 0 success, 1 error (including damage found by --verify), 2 usage error.\n");
}

namespace {

struct StreamStats {
  bool present = false;
  uint64_t size = 0, blocks = 0, data = 0, zero = 0, parent = 0;
  uint64_t unique = 0, stored = 0, dedup_blocks = 0, dedup_saved = 0;
  uint64_t by_method[3] = {0, 0, 0};
};

StreamStats stats_of(const Snapshot &s, StreamId id, std::set<uint64_t> &seen_offsets) {
  StreamStats st;
  st.present = s.has_stream(id);
  if (!st.present) return st;
  st.size = s.stream_size(id);
  st.blocks = s.block_count(id);
  for (uint64_t i = 0; i < st.blocks; i++) {
    IndexEntry e = s.entry(id, i);
    switch (e.kind) {
      case BlockKind::ZERO: st.zero++; break;
      case BlockKind::PARENT: st.parent++; break;
      case BlockKind::DATA:
        st.data++;
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
  return st;
}

// Decodes every DATA block of S on all cores; returns the damage found.
std::vector<std::string> verify(const Snapshot &s) {
  std::vector<std::string> errors;
  std::mutex m;
  for (StreamId id : {StreamId::DISK, StreamId::MEMORY}) {
    if (!s.has_stream(id)) continue;
    uint64_t n = s.block_count(id);
    std::atomic<uint64_t> next{0};
    unsigned nt = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> ts;
    for (unsigned t = 0; t < nt; t++)
      ts.emplace_back([&] {
        std::vector<unsigned char> buf(s.block_size());
        for (uint64_t i; (i = next.fetch_add(1)) < n;) {
          if (s.entry(id, i).kind != BlockKind::DATA) continue;
          try {
            s.read_block(id, i, buf.data());
          } catch (const Error &e) {
            std::lock_guard<std::mutex> g(m);
            errors.push_back(e.what());
          }
        }
      });
    for (auto &t : ts) t.join();
  }
  return errors;
}

}  // namespace

int main(int argc, char **argv) {
  enum { OPT_JSON = 256, OPT_VERIFY };
  static const struct option longopts[] = {{"json", no_argument, nullptr, OPT_JSON},
                                           {"verify", no_argument, nullptr, OPT_VERIFY},
                                           {"help", no_argument, nullptr, 'h'},
                                           {"version", no_argument, nullptr, 'V'},
                                           {nullptr, 0, nullptr, 0}};
  bool json = false, do_verify = false;
  int c;
  while ((c = getopt_long(argc, argv, "hV", longopts, nullptr)) != -1) {
    switch (c) {
      case OPT_JSON: json = true; break;
      case OPT_VERIFY: do_verify = true; break;
      case 'h': help(); return EXIT_OK;
      case 'V': print_version(PROG); return EXIT_OK;
      default: usage_error(PROG, "unknown option");
    }
  }
  if (argc - optind != 1) usage_error(PROG, "expected one SNAPSHOT.st");
  std::string path = argv[optind];

  try {
    auto s = Snapshot::open(path);
    const Header &h = s->header();
    std::set<uint64_t> seen;
    StreamStats st[NUM_STREAMS] = {stats_of(*s, StreamId::DISK, seen), stats_of(*s, StreamId::MEMORY, seen)};
    std::vector<std::string> damage;
    if (do_verify) damage = verify(*s);

    if (json) {
      Json j;
      j.begin_object();
      j.key("file").value(path);
      j.key("version").value(std::to_string(h.version_major) + "." + std::to_string(h.version_minor));
      j.key("uuid").value(uuid_to_string(h.uuid));
      j.key("created").value(h.created);
      j.key("block_size").value(uint64_t(h.block_size));
      j.key("file_size").value(h.file_size);
      j.key("parent");
      if (s->parent_ref())
        j.begin_object()
            .key("uuid").value(uuid_to_string(s->parent_ref()->uuid))
            .key("path").value(s->parent_ref()->path)
            .end_object();
      else
        j.null_value();
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
        j.end_object();
      }
      j.end_object();
      if (do_verify) {
        j.key("verify").begin_object().key("ok").value(damage.empty()).key("errors").begin_array();
        for (auto &d : damage) j.value(d);
        j.end_array().end_object();
      }
      j.end_object();
      printf("%s\n", j.str().c_str());
    } else {
      printf("File: %s\n", path.c_str());
      printf("Format version: %u.%u\n", h.version_major, h.version_minor);
      printf("UUID: %s\n", uuid_to_string(h.uuid).c_str());
      printf("Created: %s\n", format_time(h.created).c_str());
      printf("Block size: %u\n", h.block_size);
      printf("File size: %llu (%s)\n", (unsigned long long)h.file_size, format_size(h.file_size).c_str());
      if (s->parent_ref())
        printf("Parent: %s (UUID %s)\n", s->parent_ref()->path.c_str(), uuid_to_string(s->parent_ref()->uuid).c_str());
      else
        printf("Parent: none\n");
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
        if (x.stored)
          printf("  Ratio: %.2f (logical size / stored)\n", double(x.size) / double(x.stored));
      }
      if (do_verify) {
        if (damage.empty()) printf("\nVerify: OK, every stored block decodes and matches its checksum\n");
        else printf("\nVerify: FAILED, %zu damaged blocks\n", damage.size());
      }
    }
    for (auto &d : damage) fprintf(stderr, "%s: %s\n", PROG, d.c_str());
    return damage.empty() ? EXIT_OK : EXIT_FAILURE_;
  } catch (const Error &e) {
    fprintf(stderr, "%s: %s\n", PROG, e.what());
    return EXIT_FAILURE_;
  }
}
