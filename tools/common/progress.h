// A progress bar in the style of "qemu-img convert -p": "    (42.00/100%)"
// redrawn in place on stderr.
#pragma once
#include <cstdint>

namespace hexz {

class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled) {}
  ~Progress();
  void update(uint64_t done, uint64_t total);
  void finish();

 private:
  bool enabled_;
  bool drawn_ = false;
  int last_ = -1;
};

}  // namespace hexz
