// hexz-diff --files -b BASE MODIFIED: the files that differ between the
// filesystems of two disks, in virt-diff's format.
//
// Both disks are mapped once by common/fs (every file's stat, paths and disk
// ranges).  Files are joined by path.  A regular file whose inode (number,
// size, times) and disk ranges are the same on both sides is unchanged
// without reading a byte of it; otherwise its contents are read from both
// sides and compared (ext2/3/4 through libext2fs, in file order; other
// filesystems by the bytes of the ranges the file owns).  libext2fs reads
// contents and extended attributes in a confined worker (fs/ext-files.h),
// as every parser of guest data runs (fs/sandbox.h); a filesystem whose
// files cannot be read is reported as not compared, and the others are.

#include "image-diff-files.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <openssl/evp.h>

#include "error.h"
#include "fs/ext-files.h"
#include "fs/fsmap.h"
#include "fs/probe.h"
#include "overlay-meta.h"
#include "json.h"
#include "map-both.h"
#include "options.h"
#include "stat-changes.h"
#include "virt-diff-output.h"

namespace hexz {

namespace {

using fs::ContentReader;
using fs::ExtFiles;
using fs::FsMap;
using fs::Node;

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;  // (disk offset, length)

// One side of a filesystem pair: its map and, made on first use, the
// means to read file contents.
struct View {
  ImageInput *in = nullptr;
  const FsMap *fs = nullptr;
  std::vector<Ranges> ranges;  // per node: the disk ranges it owns, in disk order
  std::unique_ptr<ExtFiles> ext;
  fs::SandboxLimits limits;

  void init(ImageInput &input, const FsMap &m, unsigned timeout) {
    in = &input;
    fs = &m;
    limits.timeout = timeout;
    ranges.assign(m.nodes.size(), {});
    for (const fs::Extent &e : m.extents)
      if (!(e.owner & fs::AREA) && e.owner < ranges.size()) ranges[e.owner].emplace_back(e.start, e.length);
  }
  ExtFiles *ext_files() {
    if (!ext && fs::is_ext(fs->type)) {
      ImageInput *input = in;
      fs::DiskOpener disk{[input] { return input->reopen(); }, input->size()};
      ext = std::make_unique<ExtFiles>(disk, fs->part, in->spec, limits);
    }
    return ext.get();
  }
};

// The bytes of the ranges a file owns, in disk order, cut at its size:
// how non-ext filesystems' contents are compared.
class RangeReader : public ContentReader {
 public:
  RangeReader(Source &src, const Ranges &r, uint64_t size) : src_(src), r_(r), left_(size) {}
  size_t read(void *buf, size_t len) override {
    while (i_ < r_.size() && pos_ >= r_[i_].second) {
      i_++;
      pos_ = 0;
    }
    if (i_ == r_.size() || left_ == 0) return 0;
    size_t n = size_t(std::min<uint64_t>({len, r_[i_].second - pos_, left_}));
    src_.pread(buf, n, r_[i_].first + pos_);
    pos_ += n;
    left_ -= n;
    return n;
  }

 private:
  Source &src_;
  const Ranges &r_;
  size_t i_ = 0;
  uint64_t pos_ = 0, left_;
};

std::unique_ptr<ContentReader> open_content(View &v, uint32_t idx) {
  const Node &n = v.fs->nodes[idx];
  if (ExtFiles *e = v.ext_files()) return e->open(n.inode);
  return std::make_unique<RangeReader>(*v.in->source, v.ranges[idx], n.size);
}

// Reads until LEN bytes or the end.
size_t read_full(ContentReader &r, unsigned char *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    size_t n = r.read(buf + got, len - got);
    if (n == 0) break;
    got += n;
  }
  return got;
}

bool same_content(View &a, uint32_t ia, View &b, uint32_t ib) {
  auto ra = open_content(a, ia), rb = open_content(b, ib);
  constexpr size_t CHUNK = 1 << 20;
  std::vector<unsigned char> ba(CHUNK), bb(CHUNK);
  for (;;) {
    size_t na = read_full(*ra, ba.data(), CHUNK), nb = read_full(*rb, bb.data(), CHUNK);
    if (na != nb || memcmp(ba.data(), bb.data(), na) != 0) return false;
    if (na < CHUNK) return true;
  }
}

std::string checksum(View &v, uint32_t idx, const std::string &alg) {
  auto r = open_content(v, idx);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx) throw Error("out of memory", ENOMEM);
  EVP_DigestInit_ex(ctx, alg == "sha256" ? EVP_sha256() : EVP_md5(), nullptr);
  std::vector<unsigned char> buf(1 << 20);
  try {
    while (size_t n = r->read(buf.data(), buf.size())) EVP_DigestUpdate(ctx, buf.data(), n);
  } catch (...) {
    EVP_MD_CTX_free(ctx);
    throw;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  std::string hex;
  char h[3];
  for (unsigned i = 0; i < len; i++) {
    snprintf(h, sizeof h, "%02x", md[i]);
    hex += h;
  }
  return hex;
}

// Whether lines show xattrs (JSON has no place for them).
bool print_xattrs(const FileDiffOptions &o) { return o.xattrs && !o.json; }

// Fills in the optional columns of a file's line that X does not hold yet:
// its checksum and its xattrs (a compared pair keeps the lists it was
// compared by; only an empty one is asked for again).
void extras(View &v, uint32_t idx, const FileDiffOptions &o, LineExtras &x) {
  const Node &n = v.fs->nodes[idx];
  if (!o.checksum.empty() && n.type == '-') x.checksum = checksum(v, idx, o.checksum);
  if (print_xattrs(o) && x.xattrs.empty() && v.ext_files()) x.xattrs = v.ext_files()->xattrs(n.inode);
}

// ---- the comparison ----------------------------------------------------------------

struct Change {
  char change;  // '+', '-', '=' or 's' (stat only)
  std::string path;
  uint32_t a = 0, b = 0;  // node indices in BASE / MODIFIED
  std::vector<std::string> fields;
  LineExtras xa, xb;  // the optional columns of A's and B's lines, when printed
};

// The stat rule of the image mode: virt-diff's options decide about
// directories and ctime; inode numbers are not compared (two independently
// built images number their files differently).
StatRule stat_rule(const FileDiffOptions &o) {
  StatRule r;
  r.dir_links = o.dir_links;
  r.dir_times = o.dir_times;
  r.ctime = o.times;
  return r;
}

std::vector<std::pair<std::string, uint32_t>> sorted_paths(const FsMap &m) {
  std::vector<std::pair<std::string, uint32_t>> v;
  for (uint32_t i = 0; i < m.nodes.size(); i++)
    for (auto &p : m.nodes[i].paths) v.emplace_back(p, i);
  std::sort(v.begin(), v.end(), [](const auto &x, const auto &y) {
    return x.first != y.first ? virt_diff_less(x.first, y.first) : x.second < y.second;
  });
  return v;
}

// Whether the file data at RANGES (disk offset, length), which must cover
// all SIZE bytes of the file, lies wholly in blocks known to be equal on both
// sides.  Files with holes or inline data (ranges covering less than their
// size) are never taken as known.
bool known_equal(const Ranges &ranges, uint64_t size, const FileDiffOptions &o) {
  if (o.known_equal.empty() || ranges.empty()) return false;
  const auto &eq = o.known_equal;
  uint64_t covered = 0;
  for (auto [off, len] : ranges) {
    if (len == 0) continue;
    const uint64_t first = off / OVERLAY_BLOCK, end = (off + len + OVERLAY_BLOCK - 1) / OVERLAY_BLOCK;
    // The equal range holding FIRST, if any, must reach END.
    auto it = std::upper_bound(eq.begin(), eq.end(), std::make_pair(first, UINT64_MAX));
    if (it == eq.begin() || std::prev(it)->second < end) return false;
    covered += len;
  }
  return covered >= size;
}

std::vector<Change> diff_fs(View &va, View &vb, const FileDiffOptions &o) {
  static const FsMap none;
  auto pa = sorted_paths(va.fs ? *va.fs : none), pb = sorted_paths(vb.fs ? *vb.fs : none);
  std::vector<Change> out;
  std::map<std::pair<uint32_t, uint32_t>, bool> content_cache;  // hard links: compare once
  size_t i = 0, j = 0;
  while (i < pa.size() || j < pb.size()) {
    int cmp = i == pa.size()                             ? 1
              : j == pb.size()                           ? -1
              : virt_diff_less(pa[i].first, pb[j].first) ? -1
              : virt_diff_less(pb[j].first, pa[i].first) ? 1
                                                         : 0;
    if (cmp < 0) {
      out.push_back({'-', pa[i].first, pa[i].second, 0, {}, {}, {}});
      i++;
      continue;
    }
    if (cmp > 0) {
      out.push_back({'+', pb[j].first, 0, pb[j].second, {}, {}, {}});
      j++;
      continue;
    }
    uint32_t ia = pa[i].second, ib = pb[j].second;
    const Node &na = va.fs->nodes[ia], &nb = vb.fs->nodes[ib];
    auto fields = stat_changes(na, nb, stat_rule(o));
    bool content = false;
    if (na.type == '-' && nb.type == '-') {
      if (na.size != nb.size) {
        content = true;
      } else if ((na.inode != nb.inode || na.mtime != nb.mtime || na.ctime != nb.ctime ||
                  va.ranges[ia] != vb.ranges[ib]) &&
                 !(va.ranges[ia] == vb.ranges[ib] && known_equal(va.ranges[ia], na.size, o))) {
        auto key = std::make_pair(ia, ib);
        auto it = content_cache.find(key);
        if (it == content_cache.end()) it = content_cache.emplace(key, !same_content(va, ia, vb, ib)).first;
        content = it->second;
      }
    }
    LineExtras xa, xb;
    if (o.xattrs && va.ext_files() && vb.ext_files()) {
      xa.xattrs = va.ext_files()->xattrs(na.inode);
      xb.xattrs = vb.ext_files()->xattrs(nb.inode);
      if (xa.xattrs != xb.xattrs) fields.push_back("xattrs");
      if (!print_xattrs(o)) {
        xa.xattrs.clear();
        xb.xattrs.clear();
      }
    }
    if (content)
      out.push_back({'=', pa[i].first, ia, ib, fields, std::move(xa), std::move(xb)});
    else if (!fields.empty())
      out.push_back({'s', pa[i].first, ia, ib, fields, std::move(xa), std::move(xb)});
    i++;
    j++;
  }
  return out;
}

// The optional columns of every line CHANGES print.  (Text prints only
// BASE's line of a content change; JSON gives both checksums.)
void add_extras(std::vector<Change> &changes, View &va, View &vb, const FileDiffOptions &o) {
  if (o.checksum.empty() && !print_xattrs(o)) return;
  for (Change &c : changes) {
    if (c.change != '+') extras(va, c.a, o, c.xa);
    if (c.change == '+' || c.change == 's' || (c.change == '=' && o.json)) extras(vb, c.b, o, c.xb);
  }
}

// Why a filesystem's files cannot be listed, or "" if they can.
std::string why_not(const FsMap &m) {
  switch (m.status) {
    case fs::FsStatus::OK: return "";
    case fs::FsStatus::UNSUPPORTED: return "file listing is not supported for " + m.type + " yet";
    case fs::FsStatus::UNKNOWN: return "no filesystem recognised";
    case fs::FsStatus::DAMAGED: return "damaged: " + m.message;
  }
  return "?";
}

// Whether SRC's block status says it reads as zero from start to end.
bool reads_as_zero(Source &src) {
  bool zero = true;
  src.extents(0, src.size(), [&](uint64_t, uint64_t, bool z) { zero = zero && z; });
  return zero;
}

}  // namespace

int files_diff(ImageInput &base, ImageInput &modified, const FileDiffOptions &o) {
  fs::DiskMap ma, mb;
  map_both({[&] { return base.reopen(); }, base.size()}, {[&] { return modified.reopen(); }, modified.size()}, ma, mb,
           o.parser_timeout);
  // Partition table damage: a partition it hides is a filesystem nobody
  // compared, so it is named, and the answer is incomplete.
  std::vector<std::string> table_errors;
  for (auto [in, m] : {std::pair{&base, &ma}, std::pair{&modified, &mb}})
    for (auto &e : m->table.errors) {
      table_errors.push_back(in->spec + ": " + e);
      fprintf(stderr, "hexz-diff: %s\n", escape_text(table_errors.back()).c_str());
    }

  // Pair the filesystems by partition number.  A BASE that reads as zero
  // throughout (an empty disk, such as nbdkit's null plugin) has no
  // filesystems at all, so every file of MODIFIED is added; any other BASE
  // whose filesystem is not recognised stays "not compared".
  // (The block-status pass is made only when it can matter.)
  const bool base_empty = std::any_of(ma.filesystems.begin(), ma.filesystems.end(),
                                      [](const FsMap &f) { return f.status == fs::FsStatus::UNKNOWN; }) &&
                          reads_as_zero(*base.source);
  std::map<unsigned, std::pair<const FsMap *, const FsMap *>> pairs;
  for (auto &f : ma.filesystems)
    if (!(base_empty && f.status == fs::FsStatus::UNKNOWN)) pairs[f.part.number].first = &f;
  for (auto &f : mb.filesystems) pairs[f.part.number].second = &f;
  const bool many = pairs.size() > 1;

  VirtDiffFormat vf;
  vf.csv = o.csv;
  vf.uids = o.uids;
  vf.times = o.times;
  VirtDiffWriter pr(vf);
  Json j;
  if (o.json) {
    j.begin_object();
    j.key("kind").value("file-diff");
    j.key("base").value(base.spec);
    j.key("modified").value(modified.spec);
    j.key("files_resolved").value(true);
    j.key("filesystems").begin_array();
  }
  int rc = table_errors.empty() ? EXIT_OK : EXIT_INCOMPLETE;
  if (!o.json)
    for (auto &e : table_errors) pr.comment("partition table: " + e);
  for (auto &[num, p] : pairs) {
    const FsMap *fa = p.first, *fb = p.second;
    const FsMap &any = fb ? *fb : *fa;
    std::string label = any.label();
    // A filesystem that cannot be read on a side where it exists is named,
    // never skipped silently.
    std::string wa = fa ? why_not(*fa) : "", wb = fb ? why_not(*fb) : "", problem;
    // Missing on a side whose partition table is damaged: not removed or
    // added, just unreadable.
    if (!fa && !ma.table.errors.empty()) wa = "not in the damaged partition table";
    if (!fb && !mb.table.errors.empty()) wb = "not in the damaged partition table";
    if (!wa.empty() && wa == wb)
      problem = wa;
    else if (!wa.empty() || !wb.empty())
      problem = wa.empty() ? "in MODIFIED " + wb : "in BASE " + wa;
    // Everything this filesystem prints is read before any of it is: a
    // file that cannot be read makes the whole filesystem not compared.
    View va, vb;
    std::vector<Change> changes;
    if (problem.empty()) {
      try {
        if (fa) va.init(base, *fa, o.parser_timeout);
        if (fb) vb.init(modified, *fb, o.parser_timeout);
        changes = diff_fs(va, vb, o);
        add_extras(changes, va, vb, o);
      } catch (const Error &e) {
        problem = e.what();
      }
    }
    if (o.json) {
      j.begin_object();
      j.key("partition").value(uint64_t(num));
      j.key("label").value(label);
      j.key("type").value(any.type);
      j.key("in_base").value(fa != nullptr);
      j.key("in_modified").value(fb != nullptr);
      j.key("compared").value(problem.empty());
      if (!problem.empty()) j.key("message").value(problem);
    }
    if (!problem.empty()) {
      // Swap holds no files: not comparing it hides nothing.
      if (any.type != "swap") rc = EXIT_INCOMPLETE;
      fprintf(stderr, "hexz-diff: %s: files not compared: %s\n", escape_text(label).c_str(),
              escape_text(problem).c_str());
      if (!o.json) pr.comment(label + ": files not compared: " + problem);
      if (o.json) j.key("changes").begin_array().end_array().end_object();
      continue;
    }
    if (o.json) {
      j.key("changes").begin_array();
      for (auto &c : changes) {
        j.begin_object();
        j.key("change").value(json_change(c.change));
        j.key("path").value(c.path);
        if (c.change != '+') json_node(j.key("before"), va.fs->nodes[c.a], c.xa.checksum);
        if (c.change != '-') json_node(j.key("after"), vb.fs->nodes[c.b], c.xb.checksum);
        if (c.change == '=' || c.change == 's') {
          j.key("changed").begin_array();
          if (c.change == '=') j.value("content");
          for (auto &f : c.fields) j.value(f);
          j.end_array();
        }
        j.end_object();
      }
      j.end_array();
      j.end_object();
      continue;
    }
    if (many && !changes.empty()) pr.comment(label);
    for (auto &c : changes) {
      switch (c.change) {
        case '-': pr.file('-', va.fs->nodes[c.a], c.path, c.xa); break;
        case '+': pr.file('+', vb.fs->nodes[c.b], c.path, c.xb); break;
        case '=': pr.file('=', va.fs->nodes[c.a], c.path, c.xa); break;
        default: pr.stat_pair(va.fs->nodes[c.a], c.xa, vb.fs->nodes[c.b], c.xb, c.path, c.fields);
      }
    }
  }
  if (o.json) {
    j.end_array();
    j.key("warnings").begin_array();
    for (auto &e : table_errors) j.value(e);
    j.end_array();
    j.key("complete").value(rc == EXIT_OK);
    j.end_object();
    puts(j.str().c_str());
  }
  if (fflush(stdout) != 0) throw_errno("stdout");
  return rc;
}

}  // namespace hexz
