#include "json.h"

#include <cstdio>

namespace hexz {

size_t utf8_length(const std::string &s, size_t i) {
  auto cont = [&](size_t k, unsigned char lo = 0x80, unsigned char hi = 0xbf) {
    if (i + k >= s.size()) return false;
    const unsigned char c = s[i + k];
    return c >= lo && c <= hi;
  };
  const unsigned char c = s[i];
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    // No overlong forms (E0 A0..), no UTF-16 surrogates (ED 80..9F).
    const unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    // No overlong forms (F0 90..), nothing beyond U+10FFFF (F4 80..8F).
    const unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

std::string json_escape(const std::string &s) {
  std::string o;
  char b[8];
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    const size_t n = utf8_length(s, i);
    if (n == 0) {
      o += "\xef\xbf\xbd";  // U+FFFD
      i++;
      continue;
    }
    if (n == 2 && c == 0xc2 && (unsigned char)s[i + 1] < 0xa0) {  // C1 control U+0080-U+009F
      snprintf(b, sizeof b, "\\u%04x", (unsigned char)s[i + 1]);
      o += b;
    } else if (n > 1) {
      o.append(s, i, n);
    } else if (c == '"' || c == '\\') {
      o += '\\';
      o += char(c);
    } else if (c == '\n') {
      o += "\\n";
    } else if (c == '\t') {
      o += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o += char(c);
    }
    i += n;
  }
  return o;
}

void Json::sep() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
}

Json &Json::open(char bracket) {
  sep();
  out_ += bracket;
  first_.push_back(true);
  return *this;
}
Json &Json::close(char bracket) {
  out_ += bracket;
  first_.pop_back();
  return *this;
}
Json &Json::key(const std::string &k) {
  sep();
  out_ += '"' + json_escape(k) + "\":";
  after_key_ = true;
  return *this;
}
Json &Json::value(const std::string &s) {
  sep();
  out_ += '"' + json_escape(s) + '"';
  return *this;
}
Json &Json::value(uint64_t v) {
  sep();
  out_ += std::to_string(v);
  return *this;
}
Json &Json::signed_value(int64_t v) {
  sep();
  out_ += std::to_string(v);
  return *this;
}
Json &Json::null_value() {
  sep();
  out_ += "null";
  return *this;
}
Json &Json::value(bool v) {
  sep();
  out_ += v ? "true" : "false";
  return *this;
}

void json_extents(Json &j, const std::vector<uint64_t> &blocks, uint64_t block_size) {
  j.begin_array();
  for (size_t i = 0; i < blocks.size();) {
    size_t k = i + 1;
    while (k < blocks.size() && blocks[k] == blocks[k - 1] + 1) k++;
    j.begin_object();
    j.key("offset").value(blocks[i] * block_size);
    j.key("length").value(uint64_t(k - i) * block_size);
    j.end_object();
    i = k;
  }
  j.end_array();
}

}  // namespace hexz
