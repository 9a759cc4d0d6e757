// Helpers for the core library's unit tests: in-memory sources and a
// scratch directory.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "error.h"
#include "pack.h"
#include "snapshot.h"
#include "source.h"
#include "storage.h"
#include "util.h"
#include "writer.h"

namespace test {

// A Source over a byte vector; ranges of zeroes can be reported as holes.
class MemSource : public hexz::Source {
 public:
  explicit MemSource(std::vector<unsigned char> d, bool report_holes = false)
      : data_(std::move(d)), holes_(report_holes) {}
  const std::string &name() const override { return name_; }
  uint64_t size() const override { return data_.size(); }
  void pread(void *buf, size_t len, uint64_t off) override { std::memcpy(buf, data_.data() + off, len); }
  void extents(uint64_t off, uint64_t len, const std::function<void(uint64_t, uint64_t, bool)> &fn) override {
    if (!holes_) return Source::extents(off, len, fn);
    // Report 4 KiB-aligned zero pages as holes, like a sparse file would.
    for (uint64_t o = off; o < off + len; o += 4096) {
      uint64_t l = std::min<uint64_t>(4096, off + len - o);
      bool z = true;
      for (uint64_t k = 0; k < l && z; k++) z = data_[o + k] == 0;
      fn(o, l, z);
    }
  }
  const std::vector<unsigned char> &data() const { return data_; }

 private:
  std::vector<unsigned char> data_;
  bool holes_;
  std::string name_ = "memory-source";
};

// A Storage over a byte vector that records every read (offset, length),
// for tests of what the reader fetches.  open_relative is the default
// (refused), like a storage without directories.
class MemStorage : public hexz::Storage {
 public:
  explicit MemStorage(std::vector<unsigned char> d, std::string name = "mem:snapshot")
      : data_(std::move(d)), name_(std::move(name)) {}
  void read(void *buf, size_t len, uint64_t off) override {
    {
      std::lock_guard<std::mutex> g(m_);
      reads_.emplace_back(off, len);
    }
    if (off > data_.size() || len > data_.size() - off) throw hexz::Error(name_ + ": read past the end", EIO);
    std::memcpy(buf, data_.data() + off, len);
  }
  uint64_t size() const override { return data_.size(); }
  std::string name() const override { return name_; }
  // Shared with the test, which keeps looking after the snapshot took the
  // storage.
  std::vector<std::pair<uint64_t, size_t>> reads() {
    std::lock_guard<std::mutex> g(m_);
    return reads_;
  }

 private:
  std::vector<unsigned char> data_;
  std::string name_;
  std::mutex m_;
  std::vector<std::pair<uint64_t, size_t>> reads_;
};

inline std::string scratch_dir() {
  static std::string dir;
  if (dir.empty()) dir = hexz::make_temp_dir(hexz::temp_dir(), "hexz-unit");
  return dir;
}

inline std::vector<unsigned char> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<unsigned char> v(n);
  for (auto &b : v) b = uint8_t(rng());
  return v;
}

// Text-like, compressible data.
inline std::vector<unsigned char> text_bytes(size_t n, uint32_t seed) {
  static const char *words[] = {"snapshot ", "block ", "nbdkit ", "overlay ", "zstd ", "lz4 ", "disk\n", "memory "};
  std::mt19937 rng(seed);
  std::vector<unsigned char> v;
  v.reserve(n);
  while (v.size() < n) {
    const char *w = words[rng() % 8];
    for (const char *p = w; *p && v.size() < n; p++) v.push_back(uint8_t(*p));
  }
  return v;
}

// Packs DISK (and MEMORY if non-empty) into PATH.
inline void pack(const std::string &path, const std::vector<unsigned char> &disk,
                 const std::vector<unsigned char> *memory, const hexz::WriterOptions &wo, unsigned threads = 2) {
  hexz::SnapshotWriter w(path, wo);
  MemSource d(disk, true);
  hexz::PackOptions po;
  po.threads = threads;
  hexz::pack_stream(w, hexz::StreamId::DISK, d, po);
  if (memory) {
    MemSource m(*memory);
    hexz::pack_stream(w, hexz::StreamId::MEMORY, m, po);
  }
  w.commit();
}

// Reads a whole stream through Snapshot::read.
inline std::vector<unsigned char> read_all(const hexz::Snapshot &s, hexz::StreamId id) {
  std::vector<unsigned char> v(s.stream_size(id));
  s.read(id, 0, v.size(), v.data());
  return v;
}

inline std::vector<unsigned char> load_file(const std::string &p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(f), {});
}

inline void save_file(const std::string &p, const std::vector<unsigned char> &b) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char *>(b.data()), std::streamsize(b.size()));
}

// Bytes of the data area taken by stored index pages (the rest is blocks).
inline uint64_t page_bytes(const hexz::Snapshot &s) {
  uint64_t n = 0;
  for (auto id : {hexz::StreamId::DISK, hexz::StreamId::MEMORY})
    if (s.has_stream(id))
      for (uint64_t p = 0; p < s.page_count(id); p++)
        if (s.page_ref(id, p).kind == hexz::PageKind::STORED) n += s.page_ref(id, p).stored_len;
  return n;
}

}  // namespace test
