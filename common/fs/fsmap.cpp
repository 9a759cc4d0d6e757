#include "fsmap.h"

#include <algorithm>
#include <cstring>

#include "backend.h"
#include "probe.h"
#include "source.h"

namespace hexz::fs {

// ---- labels ----------------------------------------------------------------

std::string FsMap::label() const { return part.label() + " (" + (type.empty() ? "unknown" : type) + ")"; }

std::string FsMap::owner_name(uint32_t owner) const {
  if (owner & AREA) {
    uint32_t a = owner & ~AREA;
    return a < areas.size() ? areas[a] : "?";
  }
  if (owner >= nodes.size()) return "?";
  const Node &n = nodes[owner];
  return n.paths.empty() ? "<inode " + std::to_string(n.inode) + ">" : n.paths.front();
}

// ---- extents ----------------------------------------------------------------

void normalize_extents(std::vector<Extent> &v) {
  std::stable_sort(v.begin(), v.end(), [](const Extent &a, const Extent &b) { return a.start < b.start; });
  std::vector<Extent> out;
  out.reserve(v.size());
  for (Extent e : v) {
    if (!out.empty()) {
      Extent &last = out.back();
      uint64_t last_end = last.start + last.length;
      if (e.start < last_end) {  // overlap: the earlier extent keeps the bytes
        uint64_t end = e.start + e.length;
        if (end <= last_end) continue;
        e.length = end - last_end;
        e.start = last_end;
      }
      if (last.owner == e.owner && last.start + last.length == e.start) {
        last.length += e.length;
        continue;
      }
    }
    out.push_back(e);
  }
  v = std::move(out);
}

void sweep_blocks(const std::vector<Extent> &ext, const std::vector<uint64_t> &blocks, uint32_t bs,
                  const std::function<void(uint64_t, const Extent &, uint64_t)> &fn) {
  size_t i = 0;
  for (uint64_t b : blocks) {
    uint64_t s = b * bs, e = s + bs;
    while (i < ext.size() && ext[i].start + ext[i].length <= s) i++;
    for (size_t j = i; j < ext.size() && ext[j].start < e; j++) {
      uint64_t lo = std::max(s, ext[j].start), hi = std::min(e, ext[j].start + ext[j].length);
      if (hi > lo) fn(b, ext[j], hi - lo);
    }
  }
}

// ---- disks ---------------------------------------------------------------------

FsMap map_partition(Source &disk, const Partition &part) {
  FsMap fs;
  fs.part = part;
  try {
    fs.type = probe_filesystem(disk, part.start, part.length);
  } catch (const std::exception &e) {
    fs.status = FsStatus::DAMAGED;
    fs.message = std::string("cannot read: ") + e.what();
    return fs;
  }
  if (fs.type.empty()) {
    fs.status = FsStatus::UNKNOWN;
    fs.message = "no filesystem signature recognised; file resolution is not possible";
    return fs;
  }
  if (is_ext(fs.type))
    map_ext(disk, fs);
  else if (is_tsk(fs.type))
    map_tsk(disk, fs);
  else {
    fs.status = FsStatus::UNSUPPORTED;
    fs.message = "file resolution is not supported for " + fs.type + " yet";
    return fs;
  }
  if (fs.status != FsStatus::OK) {
    fs.nodes.clear();
    fs.areas.clear();
    fs.extents.clear();
  }
  // Nothing the filesystem claims lies outside its partition (a hostile
  // filesystem can make block x size wrap below the partition's start).
  std::erase_if(fs.extents, [&](const Extent &e) { return e.start < part.start || e.length > UINT64_MAX - e.start; });
  normalize_extents(fs.extents);
  uint64_t end = part.start + part.length;
  while (!fs.extents.empty() && fs.extents.back().start >= end) fs.extents.pop_back();
  if (!fs.extents.empty() && fs.extents.back().start + fs.extents.back().length > end)
    fs.extents.back().length = end - fs.extents.back().start;
  return fs;
}

DiskMap map_disk(Source &disk) {
  DiskMap m;
  m.size = disk.size();
  m.table = read_partition_table(disk);
  if (m.table.scheme == "none") {
    Partition whole;
    whole.length = m.size;
    m.filesystems.push_back(map_partition(disk, whole));
    return m;
  }
  for (auto &p : m.table.partitions) m.filesystems.push_back(map_partition(disk, p));
  return m;
}

const FsMap *partition_at(const DiskMap &m, uint64_t off) {
  for (auto &f : m.filesystems)
    if (off >= f.part.start && off - f.part.start < f.part.length) return &f;
  return nullptr;
}

}  // namespace hexz::fs
