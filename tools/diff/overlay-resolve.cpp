#include "overlay-resolve.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "overlay-meta.h"
#include "stat-changes.h"
#include "virt-diff-output.h"

namespace hexz {

using namespace hexz::fs;

namespace {

constexpr uint32_t NONE = 0xffffffffu;

// Counters keyed by (where, area), in order of first appearance.
class AreaCounter {
 public:
  void add(const std::string &where, const std::string &area) {
    auto key = where + '\0' + area;
    auto it = index_.find(key);
    if (it == index_.end()) {
      index_.emplace(key, v_.size());
      v_.push_back({where, area, 1});
    } else {
      v_[it->second].blocks++;
    }
  }
  std::vector<AreaCount> take() { return std::move(v_); }

 private:
  std::unordered_map<std::string, size_t> index_;
  std::vector<AreaCount> v_;
};

// Where each block of S lies in FS: one candidate per overlapping extent,
// in block order.
struct Cand {
  size_t k;        // index into S
  uint32_t owner;
  uint64_t lo, hi;  // overlap, disk bytes
};

std::vector<Cand> candidates(const FsMap &fs, const std::vector<uint64_t> &s) {
  std::vector<Cand> v;
  size_t k = 0;
  sweep_blocks(fs.extents, s, OVERLAY_BLOCK, [&](uint64_t b, const Extent &e, uint64_t) {
    while (s[k] != b) k++;
    uint64_t bs = b * OVERLAY_BLOCK;
    v.push_back({k, e.owner, std::max(bs, e.start), std::min(bs + OVERLAY_BLOCK, e.start + e.length)});
  });
  return v;
}

// Blocks (indices into S) each node touches, without repeats.
using Touched = std::unordered_map<uint32_t, std::vector<size_t>>;
void note_touched(const Cand &c, Touched &t) {
  if (c.owner & AREA) return;
  auto &v = t[c.owner];
  if (v.empty() || v.back() != c.k) v.push_back(c.k);
}

void resolve_pair(const FsMap &a, const FsMap *b, const std::vector<uint64_t> &s, const BlockReader &read,
                  Resolution &r, AreaCounter &meta, AreaCounter &free) {
  std::string where = a.label();
  std::vector<Cand> ca = candidates(a, s), cb;
  if (b) cb = candidates(*b, s);
  Touched touched_a, touched_b;

  // A block wholly inside one extent of each view belongs to that owner.  A
  // block shared by several owners (1 KiB filesystem blocks, 512-byte
  // clusters, free space) is compared between the two views: only owners
  // whose own bytes changed are touched, and the block is counted for the
  // one whose bytes changed most (ties: files before metadata, the after
  // view before the before view); changes only in unowned bytes are free
  // space.
  std::vector<unsigned char> buf_b(OVERLAY_BLOCK), buf_a(OVERLAY_BLOCK);
  size_t ia = 0, ib = 0;
  for (size_t k = 0; k < s.size(); k++) {
    size_t ea = ia, eb = ib;
    while (ea < ca.size() && ca[ea].k == k) ea++;
    while (eb < cb.size() && cb[eb].k == k) eb++;
    auto whole = [](const Cand &c) { return c.hi - c.lo == OVERLAY_BLOCK; };
    bool shared = ea - ia > 1 || eb - ib > 1 || (ea > ia && !whole(ca[ia])) || (eb > ib && !whole(cb[ib]));
    bool have_bytes = false;
    uint64_t changed_total = 0;
    if (shared && read) {
      try {
        read(s[k], buf_b.data(), buf_a.data());
        have_bytes = true;
        for (uint32_t x = 0; x < OVERLAY_BLOCK; x++) changed_total += buf_a[x] != buf_b[x];
      } catch (const std::exception &) {
      }
    }
    // Identical bytes (a block rewritten unchanged): judge by overlap.
    bool by_bytes = have_bytes && changed_total > 0;
    uint64_t base = s[k] * OVERLAY_BLOCK;
    auto score = [&](const Cand &c) {
      if (!by_bytes) return c.hi - c.lo;
      uint64_t n = 0;
      for (uint64_t x = c.lo; x < c.hi; x++) n += buf_a[x - base] != buf_b[x - base];
      return n;
    };
    const Cand *best = nullptr;
    bool best_in_a = false;
    uint64_t best_score = 0;
    int best_rank = -1;
    auto consider = [&](const Cand &c, bool in_a) {
      uint64_t sc = score(c);
      if (sc > 0 || !by_bytes) note_touched(c, in_a ? touched_a : touched_b);
      int rank = (c.owner & AREA ? 0 : 2) + (in_a ? 1 : 0);
      if (sc > 0 && (!best || sc > best_score || (sc == best_score && rank > best_rank))) {
        best = &c;
        best_in_a = in_a;
        best_score = sc;
        best_rank = rank;
      }
    };
    for (size_t i = ia; i < ea; i++) consider(ca[i], true);
    for (size_t i = ib; i < eb; i++) consider(cb[i], false);
    ia = ea;
    ib = eb;
    if (!best) {
      free.add(where, "free space");
      r.in_free++;
    } else if (best->owner & AREA) {
      meta.add(where, (best_in_a ? a : *b).owner_name(best->owner));
      r.in_metadata++;
    } else {
      r.in_files++;
    }
  }

  // Join both trees by path: additions, removals and stat changes show up
  // even when the file's own blocks were not touched (a deletion only
  // changes its directory, bitmaps and inode).
  static const FsMap empty;
  const FsMap &bb = b ? *b : empty;
  std::unordered_map<std::string_view, uint32_t> by_path_b;
  by_path_b.reserve(bb.nodes.size() * 2);
  for (uint32_t i = 0; i < bb.nodes.size(); i++)
    for (auto &p : bb.nodes[i].paths) by_path_b.emplace(p, i);
  std::unordered_set<std::string_view> in_a;
  in_a.reserve(a.nodes.size() * 2);

  static const std::vector<size_t> none;
  auto blocks_of = [](const Touched &t, uint32_t i) -> const std::vector<size_t> & {
    auto it = t.find(i);
    return it == t.end() ? none : it->second;
  };
  auto count_a = [&](uint32_t i) { return uint64_t(blocks_of(touched_a, i).size()); };
  auto count_b = [&](uint32_t i) { return uint64_t(blocks_of(touched_b, i).size()); };
  // Blocks touched by a file in either view, counted once.
  auto count_ab = [&](uint32_t i, uint32_t j) {
    auto &x = blocks_of(touched_a, i), &y = blocks_of(touched_b, j);
    std::vector<size_t> u;
    std::set_union(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(u));
    return uint64_t(u.size());
  };

  for (uint32_t ia = 0; ia < a.nodes.size(); ia++) {
    const Node &na = a.nodes[ia];
    if (na.paths.empty() && touched_a.count(ia)) {
      r.files.push_back({'=', a.part.number, "<inode " + std::to_string(na.inode) + ">", nullptr, &na, {}, count_a(ia)});
      continue;
    }
    for (auto &p : na.paths) {
      in_a.insert(p);
      auto it = by_path_b.find(p);
      if (it == by_path_b.end()) {
        r.files.push_back({'+', a.part.number, p, nullptr, &na, {}, count_a(ia)});
        continue;
      }
      uint32_t ib = it->second;
      const Node &nb = bb.nodes[ib];
      auto fields = stat_changes(nb, na, overlay_stat_rule());
      bool content = touched_a.count(ia) || touched_b.count(ib) || na.size != nb.size || na.type != nb.type;
      uint64_t n = count_ab(ia, ib);
      if (content)
        r.files.push_back({'=', a.part.number, p, &nb, &na, fields, n});
      else if (!fields.empty())
        r.files.push_back({'s', a.part.number, p, &nb, &na, fields, n});
    }
  }
  for (uint32_t ib = 0; ib < bb.nodes.size(); ib++) {
    const Node &nb = bb.nodes[ib];
    if (nb.paths.empty() && touched_b.count(ib)) {
      r.files.push_back({'-', a.part.number, "<inode " + std::to_string(nb.inode) + ">", &nb, nullptr, {}, count_b(ib)});
      continue;
    }
    for (auto &p : nb.paths)
      if (!in_a.count(p)) r.files.push_back({'-', a.part.number, p, &nb, nullptr, {}, count_b(ib)});
  }
}

}  // namespace

Resolution resolve_blocks(const DiskMap &before, const DiskMap &after, const std::vector<uint64_t> &blocks,
                          const BlockReader &read) {
  Resolution r;
  // Damage reports: once if both views agree, else per view.
  auto note = [&](const std::string &view, const std::vector<std::string> &mine, const std::vector<std::string> &other) {
    for (auto &e : mine)
      if (view == "after" || std::find(other.begin(), other.end(), e) == other.end())
        r.warnings.push_back(std::find(other.begin(), other.end(), e) == other.end() ? view + " view: " + e : e);
  };
  note("before", before.table.errors, after.table.errors);
  note("after", after.table.errors, before.table.errors);

  AreaCounter meta, free, unresolved;
  std::vector<bool> done(blocks.size(), false);
  for (const FsMap &a : after.filesystems) {
    uint64_t start = a.part.start, end = a.part.start + a.part.length;
    auto lo = std::lower_bound(blocks.begin(), blocks.end(), (start + OVERLAY_BLOCK - 1) / OVERLAY_BLOCK);
    auto hi = std::lower_bound(blocks.begin(), blocks.end(), (end + OVERLAY_BLOCK - 1) / OVERLAY_BLOCK);
    std::vector<uint64_t> s(lo, hi);
    for (auto it = lo; it != hi; ++it) done[size_t(it - blocks.begin())] = true;

    const FsMap *b = nullptr;
    for (auto &c : before.filesystems)
      if (c.part.start == a.part.start && c.part.number == a.part.number) b = &c;
    if (a.status != FsStatus::OK) {
      if (a.status == FsStatus::DAMAGED)
        r.warnings.push_back(a.label() + ": " + a.message +
                             (b && b->status == FsStatus::OK ? " (in the after view only: the overlay damaged it)" : ""));
      for (size_t i = 0; i < s.size(); i++) unresolved.add(a.label(), a.message);
      r.in_unresolved += s.size();
      if (a.type != "swap") r.in_unreadable += s.size();
      continue;
    }
    if (b && b->status != FsStatus::OK) {
      r.warnings.push_back("before view: " + b->label() + ": " + b->message + "; files are compared with an empty tree");
      b = nullptr;
    }
    resolve_pair(a, b, s, read, r, meta, free);
  }
  // Blocks in no partition: the partition tables themselves, or gaps.
  auto in_table = [&](uint64_t blk) {
    uint64_t s = blk * OVERLAY_BLOCK, e = s + OVERLAY_BLOCK;
    for (auto *t : {&after.table, &before.table})
      for (auto &[ts, tl] : t->table_areas)
        if (ts < e && ts + tl > s) return true;
    return false;
  };
  for (size_t i = 0; i < blocks.size(); i++) {
    if (done[i]) continue;
    if (in_table(blocks[i]))
      r.in_tables++;
    else
      r.outside++;
  }
  std::sort(r.files.begin(), r.files.end(), [](const FileChange &x, const FileChange &y) {
    return x.partition != y.partition ? x.partition < y.partition : virt_diff_less(x.path, y.path);
  });
  r.metadata = meta.take();
  r.free = free.take();
  r.unresolved = unresolved.take();
  return r;
}

}  // namespace hexz
