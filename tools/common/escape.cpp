#include "escape.h"

#include <cstdio>

#include "json.h"  // utf8_length

namespace hexz {

std::string escape_text(const std::string &s, bool ascii_only) {
  std::string o;
  o.reserve(s.size());
  auto hex = [&](unsigned char c) {
    char b[8];
    snprintf(b, sizeof b, "\\x%02x", c);
    o += b;
  };
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f || c == '\\')
        hex(c);
      else
        o += char(c);
      i++;
      continue;
    }
    const size_t n = ascii_only ? 0 : utf8_length(s, i);
    if (n == 0) {  // not part of a valid sequence
      hex(c);
      i++;
      continue;
    }
    if (n == 2 && c == 0xc2 && (unsigned char)s[i + 1] < 0xa0) {  // C1 control U+0080-U+009F
      hex(c);
      hex((unsigned char)s[i + 1]);
    } else {
      o.append(s, i, n);
    }
    i += n;
  }
  return o;
}

}  // namespace hexz
