// A Source over the fuzzer's input bytes, for the harnesses in this folder.
#pragma once
#include <cstring>
#include <string>

#include "error.h"
#include "source.h"

namespace hexz {

class MemSource : public Source {
 public:
  MemSource(const uint8_t *data, size_t size) : data_(data), size_(size) {}
  const std::string &name() const override { return name_; }
  uint64_t size() const override { return size_; }
  void pread(void *buf, size_t len, uint64_t off) override {
    if (off > size_ || len > size_ - off) throw Error("read beyond the end of the input");
    memcpy(buf, data_ + off, len);
  }

 private:
  const uint8_t *data_;
  size_t size_;
  std::string name_ = "fuzz input";
};

}  // namespace hexz
