// A minimal streaming JSON writer for the tools' --json output: it places
// the commas and escapes strings, so callers only state structure.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hexz {

// S as a JSON string literal body (without the quotes).  JSON text is
// UTF-8: a byte of S that is not part of a valid UTF-8 sequence becomes
// U+FFFD (names on a guest's disk are bytes, not text); control characters,
// C1 controls included, are written as \uXXXX escapes.
std::string json_escape(const std::string &s);

// The length of the valid UTF-8 sequence at S[I] (1 for ASCII), or 0 if the
// byte there does not start one (a stray continuation byte, an overlong
// form, a UTF-16 surrogate, a code point above U+10FFFF, a cut sequence).
size_t utf8_length(const std::string &s, size_t i);

class Json;

// BLOCKS (ascending indices of BLOCK_SIZE-byte blocks) as merged byte
// extents, [{"offset": O, "length": L}, ...], in the style of EBS
// ListChangedBlocks, written as the value at J's position.
void json_extents(Json &j, const std::vector<uint64_t> &blocks, uint64_t block_size);

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
  Json &signed_value(int64_t v);
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
