#include "info-map.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>

#include "json.h"

namespace hexz {

namespace {

// One line (table) or object (JSON) per run; ZERO and PARENT blocks that
// follow each other are merged into one run, DATA blocks never are (each has
// its own stored range).
struct Run {
  const char *kind;
  uint64_t start, length;
  uint64_t offset = 0;
  uint32_t stored = 0;
  const char *method = nullptr;
};

class MapWriter {
 public:
  MapWriter(bool json, FILE *out) : json_(json), out_(out) {}

  void begin_stream(const char *name, uint32_t page_entries) {
    stream_ = name;
    if (json_) j_.key(name).begin_object().key("page_entries").value(uint64_t(page_entries)).key("pages").begin_array();
  }
  void page(uint64_t p, const PageRef &ref) {
    if (json_) {
      j_.begin_object().key("page").value(p).key("kind").value(kind_name(ref.kind));
      if (ref.kind == PageKind::STORED)
        j_.key("offset").value(ref.offset).key("stored_length").value(uint64_t(ref.stored_len))
            .key("method").value(method_name(ref.method));
      j_.end_object();
    } else if (ref.kind == PageKind::STORED) {
      fprintf(out_, "%-6s page %-10" PRIu64 " %-6s %14" PRIu64 " %10" PRIu32 " %s\n", stream_, p,
              kind_name(ref.kind), ref.offset, ref.stored_len, method_name(ref.method));
    } else {
      fprintf(out_, "%-6s page %-10" PRIu64 " %s\n", stream_, p, kind_name(ref.kind));
    }
  }
  void begin_extents() {
    if (json_) j_.end_array().key("extents").begin_array();
  }
  void add(const Run &r) {
    if (pending_.length > 0 && r.method == nullptr && pending_.method == nullptr && strcmp(r.kind, pending_.kind) == 0 &&
        pending_.start + pending_.length == r.start) {
      pending_.length += r.length;
      return;
    }
    flush();
    pending_ = r;
  }
  void end_stream() {
    flush();
    if (json_) j_.end_array().end_object();
  }
  Json &json() { return j_; }

 private:
  void flush() {
    if (pending_.length == 0) return;
    const Run &r = pending_;
    if (json_) {
      j_.begin_object().key("start").value(r.start).key("length").value(r.length).key("kind").value(r.kind);
      if (r.method)
        j_.key("offset").value(r.offset).key("stored_length").value(uint64_t(r.stored)).key("method").value(r.method);
      j_.end_object();
    } else if (r.method) {
      fprintf(out_, "%-6s %14" PRIu64 " %10" PRIu64 " %-6s %14" PRIu64 " %10" PRIu32 " %s\n", stream_, r.start,
              r.length, r.kind, r.offset, r.stored, r.method);
    } else {
      fprintf(out_, "%-6s %14" PRIu64 " %10" PRIu64 " %s\n", stream_, r.start, r.length, r.kind);
    }
    pending_ = Run{};
  }

  bool json_;
  FILE *out_;
  Json j_;
  const char *stream_ = "";
  Run pending_{};
};

}  // namespace

void print_map(const Snapshot &s, const std::string &path, bool json, FILE *out) {
  MapWriter w(json, out);
  if (json) w.json().begin_object().key("file").value(path).key("block_size").value(uint64_t(s.block_size()))
        .key("data_end").value(s.header().data_end).key("file_size").value(s.file_size()).key("streams").begin_object();
  else fprintf(out, "%-6s %14s %10s %-6s %14s %10s %s\n", "stream", "start", "length", "kind", "offset", "stored", "method");
  for (StreamId id : {StreamId::DISK, StreamId::MEMORY}) {
    if (!s.has_stream(id)) continue;
    const uint64_t size = s.stream_size(id), bs = s.block_size();
    w.begin_stream(stream_name(id), s.page_entries(id));
    for (uint64_t p = 0; p < s.page_count(id); p++) w.page(p, s.page_ref(id, p));
    w.begin_extents();
    for (uint64_t p = 0; p < s.page_count(id); p++) {
      const PageRef &ref = s.page_ref(id, p);
      const uint64_t first = p * s.page_entries(id);
      const uint32_t n = s.page_length(id, p);
      if (ref.kind != PageKind::STORED) {
        // A whole ZERO or PARENT page is one run, without reading anything.
        uint64_t start = first * bs, end = std::min<uint64_t>((first + n) * bs, size);
        w.add({kind_name(ref.kind), start, end - start});
        continue;
      }
      Page page = s.read_page(id, p);
      for (uint32_t k = 0; k < n; k++) {
        const IndexEntry &e = page[k];
        Run r{kind_name(e.kind), (first + k) * bs, block_length(size, s.block_size(), first + k)};
        if (e.kind == BlockKind::DATA) {
          r.offset = e.offset;
          r.stored = e.stored_len;
          r.method = method_name(e.method);
        }
        w.add(r);
      }
    }
    w.end_stream();
  }
  if (json) {
    w.json().end_object().end_object();
    fprintf(out, "%s\n", w.json().str().c_str());
  }
}

}  // namespace hexz
