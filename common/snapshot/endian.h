// Little-endian loads and stores.  The on-disk formats are defined field by
// field (docs/format.md); these helpers are the only way the code touches
// their bytes, so the layout never depends on the host or on struct padding.
// load_be32 is for the big-endian fields of formats hexz reads (ISO 9660).
#pragma once
#include <cstdint>
#include <cstring>

namespace hexz {

inline uint16_t load_le16(const unsigned char *p) { return uint16_t(p[0] | (p[1] << 8)); }
inline uint32_t load_le32(const unsigned char *p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint64_t load_le64(const unsigned char *p) { return uint64_t(load_le32(p)) | uint64_t(load_le32(p + 4)) << 32; }
inline uint32_t load_be32(const unsigned char *p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

inline void store_le16(unsigned char *p, uint16_t v) { p[0] = uint8_t(v); p[1] = uint8_t(v >> 8); }
inline void store_le32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (8 * i));
}
inline void store_le64(unsigned char *p, uint64_t v) {
  store_le32(p, uint32_t(v));
  store_le32(p + 4, uint32_t(v >> 32));
}

}  // namespace hexz
