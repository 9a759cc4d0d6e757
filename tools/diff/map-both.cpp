#include "map-both.h"

#include <exception>
#include <thread>

namespace hexz {

void map_both(Source &a, Source &b, fs::DiskMap &ma, fs::DiskMap &mb) {
  std::exception_ptr err;
  std::thread t([&] {
    try {
      ma = fs::map_disk(a);
    } catch (...) {
      err = std::current_exception();
    }
  });
  try {
    mb = fs::map_disk(b);
  } catch (...) {
    t.join();
    throw;
  }
  t.join();
  if (err) std::rethrow_exception(err);
}

}  // namespace hexz
