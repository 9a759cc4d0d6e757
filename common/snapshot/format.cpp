#include "format.h"

#include <algorithm>
#include <cstring>

#include "checksum.h"
#include "codec.h"
#include "endian.h"
#include "error.h"

namespace hexz {

const char *stream_name(StreamId id) { return id == StreamId::DISK ? "disk" : "memory"; }

const char *kind_name(BlockKind k) {
  switch (k) {
    case BlockKind::ZERO: return "zero";
    case BlockKind::DATA: return "data";
    case BlockKind::PARENT: return "parent";
  }
  return "unknown";
}

const char *kind_name(PageKind k) {
  switch (k) {
    case PageKind::ZERO: return "zero";
    case PageKind::STORED: return "stored";
    case PageKind::PARENT: return "parent";
  }
  return "unknown";
}

const char *method_name(Method m) {
  switch (m) {
    case Method::RAW: return "none";
    case Method::LZ4: return "lz4";
    case Method::ZSTD: return "zstd";
  }
  return "unknown";
}

Method parse_method(const std::string &s) {
  if (s == "lz4") return Method::LZ4;
  if (s == "zstd") return Method::ZSTD;
  if (s == "none" || s == "raw") return Method::RAW;
  throw Error("unknown compression method '" + s + "' (use lz4, zstd or none)", EINVAL);
}

static Error damaged(const std::string &path, const std::string &what) {
  return Error(path + ": not a valid hexz snapshot: " + what, EIO);
}

void encode_header(const Header &h, unsigned char out[HEADER_SIZE]) {
  std::memset(out, 0, HEADER_SIZE);
  std::memcpy(out, MAGIC, 8);
  store_le16(out + 8, h.version_major);
  store_le16(out + 10, h.version_minor);
  store_le32(out + 12, HEADER_SIZE);
  store_le64(out + 16, h.compat_flags);
  store_le64(out + 24, h.incompat_flags);
  std::memcpy(out + 32, h.uuid.data(), 16);
  store_le32(out + 48, h.block_size);
  store_le32(out + 52, uint32_t(h.sections.size()));
  store_le64(out + 56, h.created);
  store_le64(out + 64, h.file_size);
  store_le64(out + 72, h.data_end);
  for (size_t i = 0; i < h.sections.size() && i < MAX_SECTIONS; i++) {
    unsigned char *p = out + 80 + i * SECTION_DESC_SIZE;
    const SectionDesc &s = h.sections[i];
    store_le32(p, s.type);
    store_le32(p + 4, s.flags);
    store_le64(p + 8, s.offset);
    store_le64(p + 16, s.length);
    store_le64(p + 24, s.checksum);
  }
  store_le64(out + 504, checksum(out, 504));
}

Header decode_header(const unsigned char in[HEADER_SIZE], uint64_t file_size, const std::string &path) {
  if (std::memcmp(in, MAGIC, 8) != 0) throw damaged(path, "bad magic (not a .st file)");
  Header h;
  h.version_major = load_le16(in + 8);
  h.version_minor = load_le16(in + 10);
  if (h.version_major == 1)
    throw damaged(path, "format version 1 (written by hexz before its paged index) is no longer read; this hexz reads "
                        "version " + std::to_string(VERSION_MAJOR) + " only: serve the file with the hexz that wrote it "
                        "and pack it again (hexz-pack nbd+unix://...)");
  if (h.version_major != VERSION_MAJOR)
    throw damaged(path, "format version " + std::to_string(h.version_major) + " is not supported (this is version " +
                            std::to_string(VERSION_MAJOR) + ")");
  if (load_le64(in + 504) != checksum(in, 504)) throw damaged(path, "header checksum mismatch");
  if (load_le32(in + 12) != HEADER_SIZE) throw damaged(path, "bad header size");
  h.compat_flags = load_le64(in + 16);
  h.incompat_flags = load_le64(in + 24);
  if (h.incompat_flags & ~INCOMPAT_KNOWN) {
    char buf[64];
    snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)(h.incompat_flags & ~INCOMPAT_KNOWN));
    throw damaged(path, std::string("unknown incompatible feature flags ") + buf + " (written by a newer hexz?)");
  }
  std::memcpy(h.uuid.data(), in + 32, 16);
  h.block_size = load_le32(in + 48);
  if (!valid_block_size(h.block_size))
    throw damaged(path, "block size " + std::to_string(h.block_size) + " is not a power of two in [4096, 1048576]");
  uint32_t nsec = load_le32(in + 52);
  if (nsec > MAX_SECTIONS) throw damaged(path, "section count " + std::to_string(nsec) + " exceeds 13");
  h.created = load_le64(in + 56);
  h.file_size = load_le64(in + 64);
  if (h.file_size != file_size)
    throw damaged(path, "file is " + std::to_string(file_size) + " bytes but the header says " +
                            std::to_string(h.file_size) + " (truncated or damaged)");
  h.data_end = load_le64(in + 72);
  if (h.data_end < DATA_START || h.data_end > file_size) throw damaged(path, "data area end out of range");
  if (file_size - h.data_end > MAX_SECTION_AREA)
    throw damaged(path, "section area of " + std::to_string(file_size - h.data_end) + " bytes exceeds " +
                            std::to_string(MAX_SECTION_AREA) + " (the stream tables are not this large)");
  for (uint32_t i = 0; i < nsec; i++) {
    const unsigned char *p = in + 80 + i * SECTION_DESC_SIZE;
    SectionDesc s;
    s.type = load_le32(p);
    s.flags = load_le32(p + 4);
    s.offset = load_le64(p + 8);
    s.length = load_le64(p + 16);
    s.checksum = load_le64(p + 24);
    if (s.offset < h.data_end || s.offset > file_size || s.length > file_size - s.offset)
      throw damaged(path, "section " + std::to_string(i) + " lies outside the section area");
    bool known = s.type >= 1 && s.type <= 4;
    if (!known && (s.flags & SECTION_REQUIRED))
      throw damaged(path, "unknown required section type " + std::to_string(s.type) + " (written by a newer hexz?)");
    h.sections.push_back(s);
  }
  // Sections must not overlap.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto &s : h.sections) ranges.emplace_back(s.offset, s.offset + s.length);
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); i++)
    if (ranges[i].first < ranges[i - 1].second) throw damaged(path, "sections overlap");
  return h;
}

void encode_stream_header(const StreamHeader &s, unsigned char out[STREAM_HEADER_SIZE]) {
  std::memset(out, 0, STREAM_HEADER_SIZE);
  store_le32(out, uint32_t(s.id));
  out[4] = uint8_t(s.page_shift);
  store_le64(out + 8, s.logical_size);
  store_le64(out + 16, s.block_count);
  store_le64(out + 24, s.page_count);
}

StreamHeader decode_stream_header(const unsigned char in[STREAM_HEADER_SIZE], uint32_t block_size,
                                  const std::string &path) {
  StreamHeader s;
  uint32_t id = load_le32(in);
  if (id >= NUM_STREAMS) throw damaged(path, "unknown stream id " + std::to_string(id));
  s.id = StreamId(id);
  s.page_shift = in[4];
  s.logical_size = load_le64(in + 8);
  s.block_count = load_le64(in + 16);
  s.page_count = load_le64(in + 24);
  uint64_t want = s.logical_size / block_size + (s.logical_size % block_size ? 1 : 0);
  if (s.block_count != want)
    throw damaged(path, std::string(stream_name(s.id)) + " stream: block count " + std::to_string(s.block_count) +
                            " does not match its size");
  if (s.page_shift < MIN_PAGE_SHIFT || s.page_shift > MAX_PAGE_SHIFT)
    throw damaged(path, std::string(stream_name(s.id)) + " stream: page shift " + std::to_string(s.page_shift) +
                            " is not in [" + std::to_string(MIN_PAGE_SHIFT) + ", " + std::to_string(MAX_PAGE_SHIFT) +
                            "]");
  if (s.page_count != page_count_for(s.block_count, s.page_shift))
    throw damaged(path, std::string(stream_name(s.id)) + " stream: page count " + std::to_string(s.page_count) +
                            " does not match its block count");
  return s;
}

uint32_t max_stored_page(uint32_t entries) { return uint32_t(compress_bound(size_t(entries) * INDEX_ENTRY_SIZE)); }

void encode_page_ref(const PageRef &r, unsigned char out[PAGE_REF_SIZE]) {
  std::memset(out, 0, PAGE_REF_SIZE);
  store_le64(out, r.offset);
  store_le32(out + 8, r.stored_len);
  out[12] = uint8_t(r.kind);
  out[13] = uint8_t(r.method);
  store_le64(out + 16, r.checksum);
}

PageRef decode_page_ref(const unsigned char in[PAGE_REF_SIZE], const Header &h, const StreamHeader &s, uint64_t p,
                        const std::string &path) {
  PageRef r;
  r.offset = load_le64(in);
  r.stored_len = load_le32(in + 8);
  uint8_t kind = in[12], method = in[13];
  r.checksum = load_le64(in + 16);
  auto bad = [&](const std::string &what) {
    return damaged(path, std::string(stream_name(s.id)) + " stream, index page " + std::to_string(p) + ": " + what);
  };
  switch (kind) {
    case uint8_t(PageKind::ZERO):
      r.kind = PageKind::ZERO;
      break;
    case uint8_t(PageKind::PARENT):
      if (!(h.incompat_flags & INCOMPAT_PARENT)) throw bad("parent page in a snapshot without a parent");
      r.kind = PageKind::PARENT;
      break;
    case uint8_t(PageKind::STORED): {
      r.kind = PageKind::STORED;
      if (method > uint8_t(Method::ZSTD)) throw bad("unknown compression method " + std::to_string(method));
      r.method = Method(method);
      uint32_t raw = page_length(s, p) * INDEX_ENTRY_SIZE;
      if (r.stored_len == 0 || r.stored_len > max_stored_page(page_length(s, p)))
        throw bad("stored length " + std::to_string(r.stored_len) + " out of range");
      if (r.method == Method::RAW && r.stored_len != raw) throw bad("raw page has the wrong length");
      if (r.offset < DATA_START || r.offset > h.data_end || r.stored_len > h.data_end - r.offset)
        throw bad("lies outside the data area (offset " + std::to_string(r.offset) + ", " +
                  std::to_string(r.stored_len) + " bytes)");
      break;
    }
    default:
      throw bad("unknown page kind " + std::to_string(kind));
  }
  return r;
}

void encode_entry(const IndexEntry &e, unsigned char out[INDEX_ENTRY_SIZE]) {
  std::memset(out, 0, INDEX_ENTRY_SIZE);
  store_le64(out, e.offset);
  store_le32(out + 8, e.stored_len);
  out[12] = uint8_t(e.kind);
  out[13] = uint8_t(e.method);
  store_le64(out + 16, e.checksum);
}

IndexEntry decode_entry(const unsigned char in[INDEX_ENTRY_SIZE], const Header &h, const StreamHeader &s, uint64_t i,
                        const std::string &path) {
  IndexEntry e;
  e.offset = load_le64(in);
  e.stored_len = load_le32(in + 8);
  uint8_t kind = in[12], method = in[13];
  e.checksum = load_le64(in + 16);
  auto bad = [&](const std::string &what) {
    return damaged(path, std::string(stream_name(s.id)) + " stream, index page " +
                             std::to_string(i >> s.page_shift) + ", block " + std::to_string(i) + ": " + what);
  };
  switch (kind) {
    case uint8_t(BlockKind::ZERO):
      e.kind = BlockKind::ZERO;
      break;
    case uint8_t(BlockKind::PARENT):
      if (!(h.incompat_flags & INCOMPAT_PARENT)) throw bad("parent block in a snapshot without a parent");
      e.kind = BlockKind::PARENT;
      break;
    case uint8_t(BlockKind::DATA): {
      e.kind = BlockKind::DATA;
      if (method > uint8_t(Method::ZSTD)) throw bad("unknown compression method " + std::to_string(method));
      e.method = Method(method);
      uint32_t len = block_length(s.logical_size, h.block_size, i);
      if (e.stored_len == 0 || e.stored_len > h.block_size) throw bad("stored length out of range");
      if (e.method == Method::RAW && e.stored_len != len) throw bad("raw block has the wrong length");
      if (e.offset < DATA_START || e.offset > h.data_end || e.stored_len > h.data_end - e.offset)
        throw bad("data offset outside the data area");
      break;
    }
    default:
      throw bad("unknown block kind " + std::to_string(kind));
  }
  return e;
}

std::string encode_parent(const ParentRef &p) {
  std::string out(24, '\0');
  std::memcpy(out.data(), p.uuid.data(), 16);
  store_le32(reinterpret_cast<unsigned char *>(out.data()) + 16, uint32_t(p.path.size()));
  out += p.path;
  return out;
}

ParentRef decode_parent(const std::string &bytes, const std::string &path) {
  if (bytes.size() < 24) throw damaged(path, "parent section too short");
  ParentRef p;
  auto *b = reinterpret_cast<const unsigned char *>(bytes.data());
  std::memcpy(p.uuid.data(), b, 16);
  uint32_t len = load_le32(b + 16);
  if (len == 0 || len > MAX_PARENT_PATH || bytes.size() != 24 + size_t(len))
    throw damaged(path, "parent section has a bad path length");
  p.path = bytes.substr(24);
  if (p.path.find('\0') != std::string::npos) throw damaged(path, "parent path contains a NUL byte");
  return p;
}

std::string encode_metadata(const Metadata &m) {
  std::string out;
  for (auto &[k, v] : m) {
    unsigned char hdr[8];
    store_le32(hdr, uint32_t(k.size()));
    store_le32(hdr + 4, uint32_t(v.size()));
    out.append(reinterpret_cast<char *>(hdr), 8);
    out += k;
    out += v;
  }
  return out;
}

Metadata decode_metadata(const std::string &bytes, const std::string &path) {
  Metadata m;
  size_t pos = 0;
  auto *b = reinterpret_cast<const unsigned char *>(bytes.data());
  while (pos < bytes.size()) {
    if (bytes.size() - pos < 8) throw damaged(path, "metadata section truncated");
    uint32_t kl = load_le32(b + pos), vl = load_le32(b + pos + 4);
    pos += 8;
    if (kl == 0 || kl > 256 || vl > 65536 || bytes.size() - pos < uint64_t(kl) + vl)
      throw damaged(path, "metadata record has a bad length");
    m.emplace_back(bytes.substr(pos, kl), bytes.substr(pos + kl, vl));
    pos += kl + vl;
  }
  return m;
}

}  // namespace hexz
