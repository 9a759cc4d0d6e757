// The virt-diff output format, shared by both modes of hexz-diff (overlay
// --files and image --files): one line per file, "CHANGE TYPE MODE SIZE
// [UID GID] [MTIME CTIME] [CHECKSUM] PATH [-> TARGET] [XATTR VALUE]...",
// in text or CSV; "# changed: FIELDS" after a status-only pair; "# TEXT"
// comments; the JSON form of a node and of a change letter; the order
// virt-diff lists paths in.
//
// Every string from the guest (paths, link targets, xattr names and values,
// filesystem messages) is printed through escape_text, so that it can
// neither start a line of its own nor reach a terminal as a control
// sequence.
#pragma once
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "fs/fsmap.h"
#include "escape.h"
#include "json.h"

namespace hexz {

struct VirtDiffFormat {
  bool csv = false;
  bool uids = false;   // UID GID columns
  bool times = false;  // MTIME CTIME columns (local time)
};

// What a line may carry besides the node's own fields.
struct LineExtras {
  std::string checksum;  // empty: no checksum column
  std::vector<std::pair<std::string, std::string>> xattrs;  // name, value
  std::string note;  // appended after the fields as is, e.g. "(3 modified blocks)" (text only)
};

class VirtDiffWriter {
 public:
  explicit VirtDiffWriter(const VirtDiffFormat &f, FILE *out = stdout) : f_(f), out_(out) {}

  // CHANGE is '+', '-' or '='.
  void file(char change, const fs::Node &n, const std::string &path, const LineExtras &x = {});
  // A status-only change: the "-" line of BEFORE, the "+" line of AFTER,
  // then "# changed: FIELDS".
  void stat_pair(const fs::Node &before, const LineExtras &xb, const fs::Node &after, const LineExtras &xa,
                 const std::string &path, const std::vector<std::string> &fields);
  // "# TEXT" (escaped); nothing in CSV.
  void comment(const std::string &text);

 private:
  void start() { first_ = true; }
  void end();
  void sep();
  void raw(const std::string &s);
  // S escaped (escape_text), then quoted in CSV when needed.
  void field(const std::string &s, bool ascii_only = false);

  VirtDiffFormat f_;
  FILE *out_;
  bool first_ = true;
};

// virt-diff's order: depth first, a directory's entries right after it
// ("/a", "/a/c", then "/a.b"): paths compared name by name, bytewise.
bool virt_diff_less(const std::string &a, const std::string &b);

// The JSON spelling of a change: "+", "-", "=", and "~" for 's' (status only).
std::string json_change(char change);

// A node's status as JSON: type, mode (octal string), size, uid, gid, mtime,
// ctime, nlink, link (symlinks), checksum (when given).
void json_node(Json &j, const fs::Node &n, const std::string &checksum = "");

}  // namespace hexz
