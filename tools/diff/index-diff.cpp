#include "index-diff.h"

#include <algorithm>
#include <map>
#include <sys/stat.h>

#include "error.h"

namespace hexz {

namespace {

struct Resolved {
  enum Kind { ZERO, DATA, UNKNOWN } kind = UNKNOWN;
  const Snapshot *owner = nullptr;
  IndexEntry e;
};

// What block I (LEN logical bytes) of S's disk reads as, following PARENT
// entries down the chain.  UNKNOWN wherever the index alone cannot say.
Resolved resolve(const Snapshot *s, uint64_t i, uint32_t len) {
  const uint32_t bs = s->block_size();
  for (;;) {
    // A parent with another block size maps the range onto other blocks.
    if (s->block_size() != bs) return {};
    // Where a parent's stream is shorter or absent, the bytes read as zero.
    if (!s->has_stream(StreamId::DISK) || i >= s->block_count(StreamId::DISK)) return {Resolved::ZERO, nullptr, {}};
    IndexEntry e;
    try {
      e = s->entry(StreamId::DISK, i);
    } catch (const Error &) {
      return {};  // a damaged index page: let the reading path report it
    }
    switch (e.kind) {
      case BlockKind::ZERO:
        return {Resolved::ZERO, nullptr, {}};
      case BlockKind::DATA:
        // A shorter last block in a parent: its checksum covers fewer bytes.
        if (block_length(s->stream_size(StreamId::DISK), bs, i) != len) return {};
        return {Resolved::DATA, s, e};
      case BlockKind::PARENT:
        s = s->parent().get();
        if (!s) return {};
        continue;
    }
    return {};
  }
}

// The file a snapshot was opened from, as (device, inode): "the same stored
// block" means the same offset in the same file, not merely the same UUID,
// which a crafted file could copy.
class FileIds {
 public:
  bool same_file(const Snapshot *x, const Snapshot *y) {
    if (x == y) return true;
    auto a = id(x), b = id(y);
    return a.first != 0 && a == b;
  }

 private:
  std::pair<uint64_t, uint64_t> id(const Snapshot *s) {
    auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    struct stat st;
    std::pair<uint64_t, uint64_t> v{0, 0};
    if (stat(s->path().c_str(), &st) == 0) v = {uint64_t(st.st_dev) + 1, uint64_t(st.st_ino)};
    return ids_[s] = v;
  }
  std::map<const Snapshot *, std::pair<uint64_t, uint64_t>> ids_;
};

bool same_stored(const IndexEntry &x, const IndexEntry &y) {
  return x.offset == y.offset && x.stored_len == y.stored_len && x.method == y.method && x.checksum == y.checksum;
}

}  // namespace

IndexDiff index_diff(const Snapshot &a, const Snapshot &b, bool trust_checksums, uint64_t block) {
  IndexDiff d;
  const uint32_t bs = a.block_size();
  if (b.block_size() != bs || bs % block != 0 || !a.has_stream(StreamId::DISK) || !b.has_stream(StreamId::DISK))
    return d;
  const uint64_t size_a = a.stream_size(StreamId::DISK), size_b = b.stream_size(StreamId::DISK);
  const uint64_t n = std::min(a.block_count(StreamId::DISK), b.block_count(StreamId::DISK));
  FileIds files;
  auto add_equal = [&](uint64_t first, uint64_t end) {
    if (!d.equal.empty() && d.equal.back().second == first)
      d.equal.back().second = end;
    else
      d.equal.emplace_back(first, end);
  };
  // The end of the ZERO page holding block I of S, or I if it is not in one.
  auto zero_page_end = [](const Snapshot &s, uint64_t i) -> uint64_t {
    uint64_t p = i / s.page_entries(StreamId::DISK);
    if (s.page_ref(StreamId::DISK, p).kind != PageKind::ZERO) return i;
    return (p + 1) * s.page_entries(StreamId::DISK);
  };
  for (uint64_t i = 0; i < n; i++) {
    // Pages that are ZERO on both sides are decided a page at a time, so a
    // huge sparse pair costs its pages, not its blocks (the last block,
    // which may be short, is left to the loop).
    if (uint64_t run_end = std::min({zero_page_end(a, i), zero_page_end(b, i), n - 1}); run_end > i) {
      d.both_zero += run_end - i;
      add_equal(i * bs / block, run_end * bs / block);
      i = run_end - 1;
      continue;
    }
    const uint32_t len = block_length(size_a, bs, i);
    if (len != block_length(size_b, bs, i) || len == 0) {
      d.undecided++;
      continue;
    }
    Resolved ra = resolve(&a, i, len), rb = resolve(&b, i, len);
    bool equal = false;
    if (ra.kind == Resolved::ZERO && rb.kind == Resolved::ZERO) {
      equal = true;
      d.both_zero++;
    } else if (ra.kind == Resolved::DATA && rb.kind == Resolved::DATA) {
      if (same_stored(ra.e, rb.e) && files.same_file(ra.owner, rb.owner)) {
        equal = true;
        d.same_stored++;
      } else if (trust_checksums && ra.e.checksum == rb.e.checksum) {
        equal = true;
        d.same_checksum++;
      }
    }
    if (!equal) {
      d.undecided++;
      continue;
    }
    add_equal(i * bs / block, (i * bs + len + block - 1) / block);
  }
  return d;
}

}  // namespace hexz
