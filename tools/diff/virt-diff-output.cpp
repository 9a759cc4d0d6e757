#include "virt-diff-output.h"

#include <algorithm>
#include <ctime>

namespace hexz {

namespace {

std::string time_str(int64_t t) {
  time_t tt = time_t(t);
  struct tm tm;
  char b[64];
  if (!localtime_r(&tt, &tm) || !strftime(b, sizeof b, "%F %T", &tm)) return std::to_string(t);
  return b;
}

}  // namespace

bool virt_diff_less(const std::string &a, const std::string &b) {
  // '/' sorts before every other byte, which is the same as comparing the
  // paths name by name (names hold neither '/' nor NUL).
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; i++) {
    const unsigned char x = a[i], y = b[i];
    if (x == y) continue;
    if (x == '/' || y == '/') return x == '/';
    return x < y;
  }
  return a.size() < b.size();
}

void VirtDiffWriter::end() { fputc('\n', out_); }

void VirtDiffWriter::sep() {
  if (!first_) fputc(f_.csv ? ',' : ' ', out_);
  first_ = false;
}

void VirtDiffWriter::raw(const std::string &s) {
  sep();
  fputs(s.c_str(), out_);
}

// CSV quoting as virt-diff does it: only fields holding a space, quote or
// comma are quoted, with quotes doubled (escape_text left no newline).
void VirtDiffWriter::field(const std::string &s, bool ascii_only) {
  const std::string e = escape_text(s, ascii_only);
  if (!f_.csv || e.find_first_of(" \",") == std::string::npos) return raw(e);
  std::string q = "\"";
  for (char c : e) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  raw(q + "\"");
}

void VirtDiffWriter::file(char change, const fs::Node &n, const std::string &path, const LineExtras &x) {
  start();
  field(std::string(1, change));
  field(std::string(1, n.type));
  char b[32];
  snprintf(b, sizeof b, "%04o", n.mode);
  field(b);
  snprintf(b, sizeof b, f_.csv ? "%llu" : "%10llu", (unsigned long long)n.size);
  raw(b);
  if (f_.uids) {
    for (uint32_t id : {n.uid, n.gid}) {
      snprintf(b, sizeof b, f_.csv ? "%u" : "%4u", id);
      raw(b);
    }
  }
  if (f_.times) {
    raw(time_str(n.mtime));
    raw(time_str(n.ctime));
  }
  if (!x.checksum.empty()) field(x.checksum);
  field(path);
  if (n.type == 'l') {
    if (f_.csv)
      field(n.link);
    else
      raw("-> " + escape_text(n.link));
  }
  for (auto &[k, val] : x.xattrs) {
    field(k);
    field(val, true);
  }
  if (!x.note.empty() && !f_.csv) raw(x.note);
  end();
}

void VirtDiffWriter::stat_pair(const fs::Node &before, const LineExtras &xb, const fs::Node &after,
                               const LineExtras &xa, const std::string &path, const std::vector<std::string> &fields) {
  file('-', before, path, xb);
  file('+', after, path, xa);
  start();
  field("#");
  field("changed:");
  for (auto &f : fields) field(f);
  end();
}

void VirtDiffWriter::comment(const std::string &text) {
  if (!f_.csv) fprintf(out_, "# %s\n", escape_text(text).c_str());
}

std::string json_change(char change) { return std::string(1, change == 's' ? '~' : change); }

void json_node(Json &j, const fs::Node &n, const std::string &checksum) {
  j.begin_object();
  j.key("type").value(std::string(1, n.type));
  char mode[8];
  snprintf(mode, sizeof mode, "%04o", n.mode);
  j.key("mode").value(mode);
  j.key("size").value(n.size);
  j.key("uid").value(uint64_t(n.uid));
  j.key("gid").value(uint64_t(n.gid));
  j.key("mtime").signed_value(n.mtime);
  j.key("ctime").signed_value(n.ctime);
  j.key("nlink").value(uint64_t(n.nlink));
  if (n.type == 'l') j.key("link").value(n.link);
  if (!checksum.empty()) j.key("checksum").value(checksum);
  j.end_object();
}

}  // namespace hexz
