#include "wire.h"

#include <cstring>

namespace hexz::fs {

namespace {

// Longest strings a worker may return.  Generous for real filesystems
// (names are at most 255 bytes a component, symlink targets at most a page
// or the 64 KiB read_link allows), small enough that no count times a limit
// is worth attacking: the total is bounded by the bytes received anyway.
constexpr size_t MAX_PATH = 1 << 20, MAX_LINK = 1 << 16, MAX_TEXT = 1 << 16, MAX_SHORT = 256;
// An extended attribute's name: its namespace prefix ("security.") and up
// to 255 bytes.
constexpr size_t MAX_XATTR_NAME = 512;

class Writer {
 public:
  void u8(uint8_t v) { s_.push_back(char(v)); }
  void u32(uint32_t v) { s_.append(reinterpret_cast<const char *>(&v), sizeof v); }
  void u64(uint64_t v) { s_.append(reinterpret_cast<const char *>(&v), sizeof v); }
  void str(const std::string &v) {
    u64(v.size());
    s_ += v;
  }
  std::string take() { return std::move(s_); }

 private:
  std::string s_;
};

class Reader {
 public:
  explicit Reader(const std::string &s) : p_(s.data()), left_(s.size()) {}
  uint8_t u8() { return uint8_t(*take(1)); }
  uint32_t u32() {
    uint32_t v;
    memcpy(&v, take(sizeof v), sizeof v);
    return v;
  }
  uint64_t u64() {
    uint64_t v;
    memcpy(&v, take(sizeof v), sizeof v);
    return v;
  }
  std::string str(size_t max, const char *what) {
    uint64_t n = u64();
    if (n > max) throw WireError(std::string(what) + " of " + std::to_string(n) + " bytes");
    const char *p = take(size_t(n));
    return std::string(p, size_t(n));
  }
  // A count of items of at least MIN_BYTES each: bounded by what is left.
  uint64_t count(size_t min_bytes, const char *what) {
    uint64_t n = u64();
    if (n > left_ / min_bytes) throw WireError(std::string(what) + ": count " + std::to_string(n) + " exceeds the data");
    return n;
  }
  void end() {
    if (left_) throw WireError(std::to_string(left_) + " trailing bytes");
  }

 private:
  const char *take(size_t n) {
    if (n > left_) throw WireError("truncated");
    const char *p = p_;
    p_ += n;
    left_ -= n;
    return p;
  }
  const char *p_;
  size_t left_;
};

bool known_type(const std::string &t) {
  static const char *const types[] = {"",     "ext2",        "ext3",  "ext4",        "vfat",          "exfat", "ntfs",
                                      "hfsplus", "iso9660", "xfs", "btrfs", "LVM2_member", "swap", "crypto_LUKS"};
  for (const char *x : types)
    if (t == x) return true;
  return false;
}

}  // namespace

std::string encode_table(const PartitionTable &t) {
  Writer w;
  w.str(t.scheme);
  w.u64(t.partitions.size());
  for (auto &p : t.partitions) {
    w.u32(p.number);
    w.u64(p.start);
    w.u64(p.length);
    w.str(p.type);
    w.str(p.name);
  }
  w.u64(t.table_areas.size());
  for (auto &[s, l] : t.table_areas) {
    w.u64(s);
    w.u64(l);
  }
  w.u64(t.errors.size());
  for (auto &e : t.errors) w.str(e);
  return w.take();
}

PartitionTable decode_table(const std::string &bytes, uint64_t size) {
  Reader r(bytes);
  PartitionTable t;
  t.scheme = r.str(MAX_SHORT, "scheme");
  if (t.scheme != "mbr" && t.scheme != "gpt" && t.scheme != "none") throw WireError("unknown scheme");
  uint64_t n = r.count(4 + 8 + 8 + 8 + 8, "partitions");
  uint64_t prev_end = 0;
  for (uint64_t i = 0; i < n; i++) {
    Partition p;
    p.number = r.u32();
    p.start = r.u64();
    p.length = r.u64();
    p.type = r.str(MAX_SHORT, "partition type");
    p.name = r.str(MAX_SHORT, "partition name");
    // Numbers: 1-4 primary, 5... logical (the chain is cut at 256), GPT
    // entries up to the array's bound (4 MiB / 128 bytes).
    if (p.number == 0 || p.number > 32768) throw WireError("partition number " + std::to_string(p.number));
    if (p.length == 0 || p.start >= size || p.length > size - p.start) throw WireError("partition beyond the disk");
    if (p.start < prev_end) throw WireError("partitions unsorted or overlapping");
    prev_end = p.start + p.length;
    t.partitions.push_back(std::move(p));
  }
  n = r.count(16, "table areas");
  for (uint64_t i = 0; i < n; i++) {
    uint64_t s = r.u64(), l = r.u64();
    if (s > size || l > size - s) throw WireError("table area beyond the disk");
    t.table_areas.push_back({s, l});
  }
  n = r.count(8, "errors");
  for (uint64_t i = 0; i < n; i++) t.errors.push_back(r.str(MAX_TEXT, "error message"));
  r.end();
  return t;
}

std::string encode_fsmap(const FsMap &m) {
  Writer w;
  w.u8(uint8_t(m.status));
  w.str(m.type);
  w.str(m.message);
  w.u64(m.nodes.size());
  for (auto &n : m.nodes) {
    w.u64(n.inode);
    w.u8(uint8_t(n.type));
    w.u32(n.mode);
    w.u64(n.size);
    w.u32(n.nlink);
    w.u32(n.uid);
    w.u32(n.gid);
    w.u64(uint64_t(n.mtime));
    w.u64(uint64_t(n.ctime));
    w.str(n.link);
    w.u64(n.paths.size());
    for (auto &p : n.paths) w.str(p);
  }
  w.u64(m.areas.size());
  for (auto &a : m.areas) w.str(a);
  w.u64(m.extents.size());
  for (auto &e : m.extents) {
    w.u64(e.start);
    w.u64(e.length);
    w.u32(e.owner);
  }
  return w.take();
}

FsMap decode_fsmap(const std::string &bytes, const Partition &part) {
  Reader r(bytes);
  FsMap m;
  m.part = part;
  uint8_t status = r.u8();
  if (status > uint8_t(FsStatus::DAMAGED)) throw WireError("unknown status");
  m.status = FsStatus(status);
  m.type = r.str(MAX_SHORT, "filesystem type");
  if (!known_type(m.type)) throw WireError("unknown filesystem type");
  m.message = r.str(MAX_TEXT, "message");
  uint64_t n = r.count(8 + 1 + 4 + 8 + 12 + 16 + 8 + 8, "nodes");
  m.nodes.resize(size_t(n));
  for (auto &node : m.nodes) {
    node.inode = r.u64();
    node.type = char(r.u8());
    if (!node.type || !strchr("-dlcbpsu", node.type)) throw WireError("unknown file type");
    node.mode = r.u32();
    if (node.mode > 07777) throw WireError("file mode out of range");
    node.size = r.u64();
    node.nlink = r.u32();
    node.uid = r.u32();
    node.gid = r.u32();
    node.mtime = int64_t(r.u64());
    node.ctime = int64_t(r.u64());
    node.link = r.str(MAX_LINK, "symlink target");
    uint64_t np = r.count(8, "paths");
    node.paths.reserve(size_t(np));
    for (uint64_t i = 0; i < np; i++) {
      node.paths.push_back(r.str(MAX_PATH, "path"));
      if (node.paths.back().empty() || node.paths.back()[0] != '/') throw WireError("relative path");
    }
  }
  n = r.count(8, "areas");
  m.areas.reserve(size_t(n));
  for (uint64_t i = 0; i < n; i++) m.areas.push_back(r.str(MAX_TEXT, "area name"));
  n = r.count(20, "extents");
  m.extents.resize(size_t(n));
  uint64_t prev_end = part.start, end = part.start + part.length;
  for (auto &e : m.extents) {
    e.start = r.u64();
    e.length = r.u64();
    e.owner = r.u32();
    if (e.length == 0 || e.start < prev_end || e.start >= end || e.length > end - e.start)
      throw WireError("extent outside its partition, empty, unsorted or overlapping");
    prev_end = e.start + e.length;
    bool ok = e.owner & AREA ? (e.owner & ~AREA) < m.areas.size() : e.owner < m.nodes.size();
    if (!ok) throw WireError("extent owner out of range");
  }
  r.end();
  if (m.status != FsStatus::OK && (!m.nodes.empty() || !m.areas.empty() || !m.extents.empty()))
    throw WireError("files in a filesystem that is not OK");
  return m;
}

std::string encode_xattrs(const Xattrs &x) {
  Writer w;
  w.u64(x.size());
  for (auto &[name, value] : x) {
    w.str(name);
    w.str(value);
  }
  return w.take();
}

Xattrs decode_xattrs(const std::string &bytes) {
  Reader r(bytes);
  Xattrs x;
  uint64_t n = r.count(16, "extended attributes");
  for (uint64_t i = 0; i < n; i++) {
    std::string name = r.str(MAX_XATTR_NAME, "an attribute name");
    if (name.empty()) throw WireError("an empty attribute name");
    std::string value = r.str(MAX_TEXT, "an attribute value");
    if (!x.empty() && name < x.back().first) throw WireError("attribute names not sorted");
    x.emplace_back(std::move(name), std::move(value));
  }
  r.end();
  return x;
}

}  // namespace hexz::fs
