#include "progress.h"

#include <cstdio>

namespace hexz {

Progress::~Progress() { finish(); }

void Progress::update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  int hundredths = total ? int(done * 10000 / total) : 10000;
  if (hundredths == last_) return;
  last_ = hundredths;
  fprintf(stderr, "\r    (%d.%02d/100%%)", hundredths / 100, hundredths % 100);
  fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (enabled_ && drawn_) {
    if (last_ != 10000) fprintf(stderr, "\r    (100.00/100%%)");
    fprintf(stderr, "\n");
    drawn_ = false;
  }
}

}  // namespace hexz
