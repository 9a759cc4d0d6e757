// hexz-diff --files -b BASE MODIFIED: the files that differ between the
// filesystems of two disks, in virt-diff's format.
//
// Both disks are mapped once by common/fs (every file's stat, paths and disk
// ranges).  Files are joined by path.  A regular file whose inode (number,
// size, times) and disk ranges are the same on both sides is unchanged
// without reading a byte of it; otherwise its contents are read from both
// sides and compared (ext2/3/4 through libext2fs, in file order; other
// filesystems by the bytes of the ranges the file owns).

#include "image-diff-files.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <map>
#include <openssl/evp.h>
#include <thread>

#include "error.h"
#include "fs/fsmap.h"
#include "fs/probe.h"
#include "image-diff-ext.h"
#include "json.h"
#include "options.h"

namespace hexz {

namespace {

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

  void init(ImageInput &input, const FsMap &m) {
    in = &input;
    fs = &m;
    ranges.assign(m.nodes.size(), {});
    for (const fs::Extent &e : m.extents)
      if (!(e.owner & fs::AREA) && e.owner < ranges.size()) ranges[e.owner].emplace_back(e.start, e.length);
  }
  ExtFiles *ext_files() {
    if (!ext && fs::is_ext(fs->type))
      ext = std::make_unique<ExtFiles>(*in->source, fs->part.start, fs->part.length, in->spec + " " + fs->label());
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

// ---- output in virt-diff's format ------------------------------------------------

class Printer {
 public:
  explicit Printer(const FileDiffOptions &o) : o_(o) {}

  void line(char change, View &v, uint32_t idx, const std::string &path) {
    const Node &n = v.fs->nodes[idx];
    start();
    field(std::string(1, change));
    field(std::string(1, n.type));
    char b[32];
    snprintf(b, sizeof b, "%04o", n.mode);
    field(b);
    snprintf(b, sizeof b, o_.csv ? "%llu" : "%10llu", (unsigned long long)n.size);
    raw(b);
    if (o_.uids) {
      for (uint32_t id : {n.uid, n.gid}) {
        snprintf(b, sizeof b, o_.csv ? "%u" : "%4u", id);
        raw(b);
      }
    }
    if (o_.times) {
      raw(time_str(n.mtime));
      raw(time_str(n.ctime));
    }
    if (!o_.checksum.empty() && n.type == '-') field(checksum(v, idx, o_.checksum));
    field(path);
    if (n.type == 'l') {
      if (o_.csv)
        field(n.link);
      else
        raw("-> " + n.link);
    }
    if (o_.xattrs && v.ext_files())
      for (auto &[k, val] : v.ext_files()->xattrs(n.inode)) {
        field(k);
        binary(val);
      }
    end();
  }
  void changed(const std::vector<std::string> &fields) {
    start();
    field("#");
    field("changed:");
    for (auto &f : fields) field(f);
    end();
  }
  void comment(const std::string &text) {
    if (!o_.csv) printf("# %s\n", text.c_str());
  }

 private:
  void start() { first_ = true; }
  void end() { putchar('\n'); }
  void sep() {
    if (!first_) putchar(o_.csv ? ',' : ' ');
    first_ = false;
  }
  void raw(const std::string &s) {
    sep();
    fputs(s.c_str(), stdout);
  }
  // CSV quoting as virt-diff does it: only fields holding a space, quote,
  // comma or newline are quoted, with quotes doubled.
  void field(const std::string &s) {
    if (!o_.csv || s.find_first_of(" \",\n") == std::string::npos) return raw(s);
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    raw(q + "\"");
  }
  void binary(const std::string &s) {
    std::string out;
    char b[8];
    for (unsigned char c : s) {
      if (c >= 0x20 && c < 0x7f) {
        out += char(c);
      } else {
        snprintf(b, sizeof b, "\\x%02x", c);
        out += b;
      }
    }
    field(out);
  }
  static std::string time_str(int64_t t) {
    time_t tt = time_t(t);
    struct tm tm;
    char b[64];
    if (!localtime_r(&tt, &tm) || !strftime(b, sizeof b, "%F %T", &tm)) return std::to_string(t);
    return b;
  }

  const FileDiffOptions &o_;
  bool first_ = true;
};

// ---- the comparison ----------------------------------------------------------------

struct Change {
  char change;  // '+', '-', '=' or 's' (stat only)
  std::string path;
  uint32_t a = 0, b = 0;  // node indices in BASE / MODIFIED
  std::vector<std::string> fields;
};

// The stat fields that differ, with virt-diff's names and its noise rules:
// directories' link counts and times only count with --dir-links and
// --dir-times; ctime only with --times (it changes on every chmod, link or
// copy, and is shown only then); inode numbers are not compared, since two
// independently built images number their files differently.
std::vector<std::string> stat_changes(const Node &a, const Node &b, const FileDiffOptions &o) {
  std::vector<std::string> f;
  bool dirs = a.type == 'd' && b.type == 'd';
  if (a.type != b.type || a.mode != b.mode) f.push_back("st_mode");
  if (a.nlink != b.nlink && (!dirs || o.dir_links)) f.push_back("st_nlink");
  if (a.uid != b.uid) f.push_back("st_uid");
  if (a.gid != b.gid) f.push_back("st_gid");
  if (a.size != b.size) f.push_back("st_size");
  if (a.mtime != b.mtime && (!dirs || o.dir_times)) f.push_back("st_mtime_sec");
  if (o.times && a.ctime != b.ctime && (!dirs || o.dir_times)) f.push_back("st_ctime_sec");
  if (a.type == 'l' && b.type == 'l' && a.link != b.link) f.push_back("link");
  return f;
}

std::vector<std::pair<std::string, uint32_t>> sorted_paths(const FsMap &m) {
  std::vector<std::pair<std::string, uint32_t>> v;
  for (uint32_t i = 0; i < m.nodes.size(); i++)
    for (auto &p : m.nodes[i].paths) v.emplace_back(p, i);
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<Change> diff_fs(View &va, View &vb, const FileDiffOptions &o) {
  static const FsMap none;
  auto pa = sorted_paths(va.fs ? *va.fs : none), pb = sorted_paths(vb.fs ? *vb.fs : none);
  std::vector<Change> out;
  std::map<std::pair<uint32_t, uint32_t>, bool> content_cache;  // hard links: compare once
  size_t i = 0, j = 0;
  while (i < pa.size() || j < pb.size()) {
    int cmp = i == pa.size() ? 1 : j == pb.size() ? -1 : pa[i].first.compare(pb[j].first);
    if (cmp < 0) {
      out.push_back({'-', pa[i].first, pa[i].second, 0, {}});
      i++;
      continue;
    }
    if (cmp > 0) {
      out.push_back({'+', pb[j].first, 0, pb[j].second, {}});
      j++;
      continue;
    }
    uint32_t ia = pa[i].second, ib = pb[j].second;
    const Node &na = va.fs->nodes[ia], &nb = vb.fs->nodes[ib];
    auto fields = stat_changes(na, nb, o);
    bool content = false;
    if (na.type == '-' && nb.type == '-') {
      if (na.size != nb.size) {
        content = true;
      } else if (na.inode != nb.inode || na.mtime != nb.mtime || na.ctime != nb.ctime ||
                 va.ranges[ia] != vb.ranges[ib]) {
        auto key = std::make_pair(ia, ib);
        auto it = content_cache.find(key);
        if (it == content_cache.end()) it = content_cache.emplace(key, !same_content(va, ia, vb, ib)).first;
        content = it->second;
      }
    }
    if (o.xattrs && va.ext_files() && vb.ext_files() && va.ext_files()->xattrs(na.inode) != vb.ext_files()->xattrs(nb.inode))
      fields.push_back("xattrs");
    if (content)
      out.push_back({'=', pa[i].first, ia, ib, fields});
    else if (!fields.empty())
      out.push_back({'s', pa[i].first, ia, ib, fields});
    i++;
    j++;
  }
  return out;
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

// Maps both disks at once: each mostly waits on its own nbdkit.
void map_both(ImageInput &a, ImageInput &b, fs::DiskMap &ma, fs::DiskMap &mb) {
  std::exception_ptr err;
  std::thread t([&] {
    try {
      ma = fs::map_disk(*a.source);
    } catch (...) {
      err = std::current_exception();
    }
  });
  try {
    mb = fs::map_disk(*b.source);
  } catch (...) {
    t.join();
    throw;
  }
  t.join();
  if (err) std::rethrow_exception(err);
}

void json_node(Json &j, const Node &n, const std::string &sum) {
  j.begin_object();
  j.key("type").value(std::string(1, n.type));
  char mode[8];
  snprintf(mode, sizeof mode, "%04o", n.mode);
  j.key("mode").value(mode);
  j.key("size").value(n.size);
  j.key("uid").value(uint64_t(n.uid));
  j.key("gid").value(uint64_t(n.gid));
  j.key("mtime").value(uint64_t(n.mtime));
  j.key("ctime").value(uint64_t(n.ctime));
  j.key("nlink").value(uint64_t(n.nlink));
  if (n.type == 'l') j.key("link").value(n.link);
  if (!sum.empty()) j.key("checksum").value(sum);
  j.end_object();
}

}  // namespace

int files_diff(ImageInput &base, ImageInput &modified, const FileDiffOptions &o) {
  fs::DiskMap ma, mb;
  map_both(base, modified, ma, mb);

  // Pair the filesystems by partition number.
  std::map<unsigned, std::pair<const FsMap *, const FsMap *>> pairs;
  for (auto &f : ma.filesystems) pairs[f.part.number].first = &f;
  for (auto &f : mb.filesystems) pairs[f.part.number].second = &f;
  const bool many = pairs.size() > 1;

  Printer pr(o);
  Json j;
  if (o.json) {
    j.begin_object();
    j.key("base").value(base.spec);
    j.key("modified").value(modified.spec);
    j.key("filesystems").begin_array();
  }
  int rc = EXIT_OK;
  for (auto &[num, p] : pairs) {
    const FsMap *fa = p.first, *fb = p.second;
    const FsMap &any = fb ? *fb : *fa;
    std::string label = any.label();
    // A filesystem that cannot be read on a side where it exists is named,
    // never skipped silently.
    std::string wa = fa ? why_not(*fa) : "", wb = fb ? why_not(*fb) : "", problem;
    if (!wa.empty() && wa == wb)
      problem = wa;
    else if (!wa.empty() || !wb.empty())
      problem = wa.empty() ? "in MODIFIED " + wb : "in BASE " + wa;
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
      fprintf(stderr, "hexz-diff: %s: files not compared: %s\n", label.c_str(), problem.c_str());
      if (!o.json) pr.comment(label + ": files not compared: " + problem);
      if (o.json) j.end_object();
      continue;
    }
    View va, vb;
    if (fa) va.init(base, *fa);
    if (fb) vb.init(modified, *fb);
    std::vector<Change> changes = diff_fs(va, vb, o);
    if (o.json) {
      j.key("changes").begin_array();
      for (auto &c : changes) {
        j.begin_object();
        j.key("change").value(std::string(1, c.change == 's' ? '~' : c.change));
        j.key("path").value(c.path);
        std::string sa, sb;
        if (!o.checksum.empty()) {
          if (c.change != '+' && va.fs->nodes[c.a].type == '-') sa = checksum(va, c.a, o.checksum);
          if (c.change != '-' && vb.fs->nodes[c.b].type == '-') sb = checksum(vb, c.b, o.checksum);
        }
        if (c.change != '+') json_node(j.key("before"), va.fs->nodes[c.a], sa);
        if (c.change != '-') json_node(j.key("after"), vb.fs->nodes[c.b], sb);
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
        case '-': pr.line('-', va, c.a, c.path); break;
        case '+': pr.line('+', vb, c.b, c.path); break;
        case '=': pr.line('=', va, c.a, c.path); break;
        default:
          pr.line('-', va, c.a, c.path);
          pr.line('+', vb, c.b, c.path);
          pr.changed(c.fields);
      }
    }
  }
  if (o.json) {
    j.end_array();
    j.end_object();
    puts(j.str().c_str());
  }
  if (fflush(stdout) != 0) throw_errno("stdout");
  return rc;
}

}  // namespace hexz
