#include "json.h"

#include <cstdio>

namespace hexz {

std::string json_escape(const std::string &s) {
  std::string o;
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20) {
          char b[8];
          snprintf(b, sizeof b, "\\u%04x", c);
          o += b;
        } else {
          o += char(c);
        }
    }
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

}  // namespace hexz
