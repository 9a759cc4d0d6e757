// The .st snapshot format (docs/format.md, section 1): constants, in-memory
// forms of the header, section descriptors, stream headers and index entries,
// and their field-by-field encoders and decoders.  Decoders validate
// everything they can see locally and throw Error naming the file.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "util.h"

namespace hexz {

inline constexpr unsigned char MAGIC[8] = {0x89, 'H', 'X', 'Z', '\r', '\n', 0x1a, '\n'};
inline constexpr uint16_t VERSION_MAJOR = 2;
inline constexpr uint16_t VERSION_MINOR = 0;
inline constexpr uint32_t HEADER_SIZE = 512;
inline constexpr uint64_t DATA_START = 4096;
inline constexpr uint32_t MAX_SECTIONS = 13;
inline constexpr uint32_t SECTION_DESC_SIZE = 32;
inline constexpr uint32_t STREAM_HEADER_SIZE = 32;
inline constexpr uint32_t INDEX_ENTRY_SIZE = 24;
inline constexpr uint32_t PAGE_REF_SIZE = 24;
// A stream's index is cut into pages of 2^page_shift entries (docs/format.md
// 1.3): 16384 entries (1 GiB of disk at 64 KiB blocks) by default.
inline constexpr unsigned MIN_PAGE_SHIFT = 6;
inline constexpr unsigned MAX_PAGE_SHIFT = 16;
inline constexpr unsigned DEFAULT_PAGE_SHIFT = 14;
// Opening reads the header and then the whole section area (stream tables,
// parent reference, metadata) in one read; a larger area is refused.
inline constexpr uint64_t MAX_SECTION_AREA = 256ull << 20;
inline constexpr uint32_t MIN_BLOCK_SIZE = 4096;
inline constexpr uint32_t MAX_BLOCK_SIZE = 1048576;
inline constexpr uint32_t DEFAULT_BLOCK_SIZE = 65536;
inline constexpr unsigned MAX_CHAIN_DEPTH = 32;
inline constexpr uint32_t MAX_PARENT_PATH = 4096;

inline constexpr uint64_t INCOMPAT_PARENT = 1u << 0;
inline constexpr uint64_t INCOMPAT_KNOWN = INCOMPAT_PARENT;

inline constexpr uint32_t SECTION_REQUIRED = 1u << 0;

enum class SectionType : uint32_t { STREAM_INDEX = 1, PARENT = 2, METADATA = 3, SIGNATURE = 4 };
enum class StreamId : uint32_t { DISK = 0, MEMORY = 1 };
inline constexpr unsigned NUM_STREAMS = 2;
const char *stream_name(StreamId id);

enum class BlockKind : uint8_t { ZERO = 0, DATA = 1, PARENT = 2 };
// An index page: every entry ZERO, stored in the data area, or every entry
// PARENT.  ZERO and PARENT pages occupy no bytes.
enum class PageKind : uint8_t { ZERO = 0, STORED = 1, PARENT = 2 };
enum class Method : uint8_t { RAW = 0, LZ4 = 1, ZSTD = 2 };
// The names hexz-info prints: "zero", "data", "parent"; "zero", "stored",
// "parent"; "none", "lz4", "zstd".
const char *kind_name(BlockKind k);
const char *kind_name(PageKind k);
const char *method_name(Method m);
// "lz4", "zstd", "none" (or "raw"); throws Error(EINVAL) otherwise.
Method parse_method(const std::string &s);

inline bool valid_block_size(uint64_t bs) {
  return bs >= MIN_BLOCK_SIZE && bs <= MAX_BLOCK_SIZE && (bs & (bs - 1)) == 0;
}

struct SectionDesc {
  uint32_t type = 0;
  uint32_t flags = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t checksum = 0;
};

struct Header {
  uint16_t version_major = VERSION_MAJOR;
  uint16_t version_minor = VERSION_MINOR;
  uint64_t compat_flags = 0;
  uint64_t incompat_flags = 0;
  Uuid uuid{};
  uint32_t block_size = DEFAULT_BLOCK_SIZE;
  uint64_t created = 0;
  uint64_t file_size = 0;
  uint64_t data_end = DATA_START;
  std::vector<SectionDesc> sections;
};

struct StreamHeader {
  StreamId id = StreamId::DISK;
  unsigned page_shift = DEFAULT_PAGE_SHIFT;
  uint64_t logical_size = 0;
  uint64_t block_count = 0;
  uint64_t page_count = 0;
};

// One entry of a stream's page table.
struct PageRef {
  uint64_t offset = 0;
  uint32_t stored_len = 0;
  PageKind kind = PageKind::ZERO;
  Method method = Method::RAW;
  uint64_t checksum = 0;  // XXH3-64 of the stored bytes
};

struct IndexEntry {
  uint64_t offset = 0;
  uint32_t stored_len = 0;
  BlockKind kind = BlockKind::ZERO;
  Method method = Method::RAW;
  uint64_t checksum = 0;
};

struct ParentRef {
  Uuid uuid{};
  std::string path;  // as stored: relative to the child's directory, or absolute
};

using Metadata = std::vector<std::pair<std::string, std::string>>;

// Header: HEADER_SIZE bytes.  decode_header checks magic, version, checksum,
// flags, block size, section table and lengths against FILE_SIZE.
void encode_header(const Header &h, unsigned char out[HEADER_SIZE]);
Header decode_header(const unsigned char in[HEADER_SIZE], uint64_t file_size, const std::string &path);

void encode_stream_header(const StreamHeader &s, unsigned char out[STREAM_HEADER_SIZE]);
StreamHeader decode_stream_header(const unsigned char in[STREAM_HEADER_SIZE], uint32_t block_size,
                                  const std::string &path);

// Number of index pages of a stream of BLOCKS blocks, and the number of
// entries in page P (the last page may be short).
inline uint64_t page_count_for(uint64_t blocks, unsigned shift) {
  return (blocks >> shift) + ((blocks & ((uint64_t(1) << shift) - 1)) ? 1 : 0);
}
inline uint32_t page_length(const StreamHeader &s, uint64_t p) {
  uint64_t first = p << s.page_shift, n = uint64_t(1) << s.page_shift;
  return uint32_t(first >= s.block_count ? 0 : (s.block_count - first < n ? s.block_count - first : n));
}
// Largest stored page (a page of 2^MAX_PAGE_SHIFT entries, compressed).
uint32_t max_stored_page(uint32_t entries);

void encode_page_ref(const PageRef &r, unsigned char out[PAGE_REF_SIZE]);
// Decodes and validates page table entry P of stream S against the header's
// data area.
PageRef decode_page_ref(const unsigned char in[PAGE_REF_SIZE], const Header &h, const StreamHeader &s, uint64_t p,
                        const std::string &path);

void encode_entry(const IndexEntry &e, unsigned char out[INDEX_ENTRY_SIZE]);
// Decodes and validates entry I of stream S against the header's data area;
// errors name the index page holding it.
IndexEntry decode_entry(const unsigned char in[INDEX_ENTRY_SIZE], const Header &h, const StreamHeader &s, uint64_t i,
                        const std::string &path);

std::string encode_parent(const ParentRef &p);
ParentRef decode_parent(const std::string &bytes, const std::string &path);

std::string encode_metadata(const Metadata &m);
Metadata decode_metadata(const std::string &bytes, const std::string &path);

// Logical length of block I of a stream of SIZE bytes.
inline uint32_t block_length(uint64_t size, uint32_t block_size, uint64_t i) {
  uint64_t start = i * block_size;
  return start >= size ? 0 : uint32_t(size - start < block_size ? size - start : block_size);
}

}  // namespace hexz
