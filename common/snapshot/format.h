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
inline constexpr uint16_t VERSION_MAJOR = 1;
inline constexpr uint16_t VERSION_MINOR = 0;
inline constexpr uint32_t HEADER_SIZE = 512;
inline constexpr uint64_t DATA_START = 4096;
inline constexpr uint32_t MAX_SECTIONS = 13;
inline constexpr uint32_t SECTION_DESC_SIZE = 32;
inline constexpr uint32_t STREAM_HEADER_SIZE = 32;
inline constexpr uint32_t INDEX_ENTRY_SIZE = 24;
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
enum class Method : uint8_t { RAW = 0, LZ4 = 1, ZSTD = 2 };
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
  uint64_t logical_size = 0;
  uint64_t block_count = 0;
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

void encode_entry(const IndexEntry &e, unsigned char out[INDEX_ENTRY_SIZE]);
// Decodes and validates entry I of stream S against the header's data area.
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
