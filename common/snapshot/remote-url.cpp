#include "remote-url.h"

#include <cctype>
#include <vector>

#include "error.h"

namespace hexz {

namespace {

bool starts_with_nocase(const std::string &s, const char *prefix) {
  for (size_t i = 0; prefix[i]; i++)
    if (i >= s.size() || std::tolower((unsigned char)s[i]) != prefix[i]) return false;
  return true;
}

// Where the path of URL starts: after "scheme://authority".  For s3:// the
// authority is the bucket.
size_t path_start(const std::string &url) {
  size_t p = url.find("://");
  if (p == std::string::npos) return std::string::npos;
  size_t slash = url.find('/', p + 3);
  return slash == std::string::npos ? url.size() : slash;
}

}  // namespace

bool is_url(const std::string &s) {
  return starts_with_nocase(s, "http://") || starts_with_nocase(s, "https://") || starts_with_nocase(s, "s3://");
}

std::string resolve_url(const std::string &base, const std::string &ref) {
  if (is_url(ref)) return ref;
  size_t ps = path_start(base);
  if (ps == std::string::npos) throw Error(base + ": not a URL", EINVAL);
  std::string root = base.substr(0, ps);
  std::string path = base.substr(ps);
  // Drop any query or fragment of the base: a parent is another object.
  size_t q = path.find_first_of("?#");
  if (q != std::string::npos) path.resize(q);

  std::vector<std::string> segs;
  auto push_all = [&](const std::string &p) {
    size_t i = 0;
    while (i <= p.size()) {
      size_t j = p.find('/', i);
      if (j == std::string::npos) j = p.size();
      std::string seg = p.substr(i, j - i);
      if (seg == "..") {
        if (segs.empty())
          throw Error(base + ": parent reference \"" + ref + "\" points above the root of the URL", EINVAL);
        segs.pop_back();
      } else if (!seg.empty() && seg != ".") {
        segs.push_back(seg);
      }
      i = j + 1;
    }
  };
  if (ref.empty() || ref[0] != '/') {
    // The directory of the base: everything up to its last '/'.
    size_t last = path.rfind('/');
    push_all(last == std::string::npos ? std::string() : path.substr(0, last));
  }
  push_all(ref);
  std::string out = root;
  for (auto &s : segs) out += "/" + s;
  if (segs.empty()) out += "/";
  return out;
}

S3Location parse_s3_url(const std::string &url) {
  if (!starts_with_nocase(url, "s3://")) throw Error(url + ": not an s3:// URL", EINVAL);
  std::string rest = url.substr(5);
  size_t slash = rest.find('/');
  S3Location loc;
  loc.bucket = rest.substr(0, slash);
  if (slash != std::string::npos) loc.key = rest.substr(slash + 1);
  if (loc.bucket.empty() || loc.key.empty())
    throw Error(url + ": an S3 location is s3://BUCKET/KEY", EINVAL);
  // S3's rules: 3-63 characters of lowercase letters, digits, '.' and '-'.
  // Enforcing them also keeps the bucket safe to put in a host name or path.
  bool ok = loc.bucket.size() >= 3 && loc.bucket.size() <= 63;
  for (char c : loc.bucket)
    ok = ok && (std::islower((unsigned char)c) || std::isdigit((unsigned char)c) || c == '.' || c == '-');
  if (!ok) throw Error(url + ": \"" + loc.bucket + "\" is not a valid S3 bucket name", EINVAL);
  return loc;
}

std::string s3_http_url(const S3Location &loc, const std::string &endpoint, const std::string &region) {
  static const char hex[] = "0123456789ABCDEF";
  std::string key;
  for (unsigned char c : loc.key) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      key += char(c);
    } else {
      key += '%';
      key += hex[c >> 4];
      key += hex[c & 15];
    }
  }
  if (!endpoint.empty()) {
    std::string e = endpoint;
    while (!e.empty() && e.back() == '/') e.pop_back();
    return e + "/" + loc.bucket + "/" + key;
  }
  return "https://" + loc.bucket + ".s3." + region + ".amazonaws.com/" + key;
}

std::string redact_url(const std::string &url) {
  size_t p = url.find("://");
  if (p == std::string::npos) return url;
  size_t end = url.find_first_of("/?#", p + 3);
  size_t at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < p + 3) return url;
  return url.substr(0, p + 3) + "***" + url.substr(at);
}

}  // namespace hexz
