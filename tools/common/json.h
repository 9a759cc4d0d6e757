// A minimal streaming JSON writer for the tools' --json output: it places
// the commas and escapes strings, so callers only state structure.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hexz {

// S as a JSON string literal body (without the quotes).
std::string json_escape(const std::string &s);

class Json {
 public:
  Json &begin_object() { return open('{'); }
  Json &end_object() { return close('}'); }
  Json &begin_array() { return open('['); }
  Json &end_array() { return close(']'); }
  Json &key(const std::string &k);
  Json &value(const std::string &s);
  Json &value(const char *s) { return value(std::string(s)); }
  Json &value(uint64_t v);
  Json &value(bool v);
  Json &null_value();
  const std::string &str() const { return out_; }

 private:
  void sep();
  Json &open(char bracket);
  Json &close(char bracket);
  std::string out_;
  std::vector<bool> first_;  // per open container: no element yet
  bool after_key_ = false;
};

}  // namespace hexz
