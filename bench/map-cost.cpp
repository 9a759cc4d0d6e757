// What the sandbox costs hexz-diff --files: maps the two views of a disk
// (two NBD URIs, as hexz-diff's overlay mode maps "before" and "after")
// RUNS times each way, interleaved:
//   in-process  map_disk on each disk in a thread of its own (the best an
//               unconfined hexz-diff could do: the same parallelism);
//   sandboxed   map_disks_sandboxed, as hexz-diff does (a confined worker
//               per table and per filesystem, results encoded and checked).
// Prints the median seconds of each and checks that both give the same
// maps.  Used by bench/bench-diff.sh; not installed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "fs/fsmap.h"
#include "fs/sandbox.h"
#include "fs/wire.h"
#include "nbd-source.h"
#include "source.h"

using namespace hexz;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A map in a comparable form: its encoded filesystems.
std::string fingerprint(const fs::DiskMap &m) {
  std::string s = fs::encode_table(m.table);
  for (auto &f : m.filesystems) s += fs::encode_fsmap(f);
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: map-cost URI-A URI-B RUNS\n");
    return 2;
  }
  const std::vector<std::string> uris = {argv[1], argv[2]};
  const int runs = std::max(1, atoi(argv[3]));
  try {
    std::vector<fs::DiskOpener> disks;
    for (auto &u : uris) disks.push_back({[u] { return open_nbd_uri_source(u); }, open_nbd_uri_source(u)->size()});
    std::vector<double> in_process, sandboxed;
    std::string want;
    for (int i = 0; i < runs; i++) {
      auto t0 = std::chrono::steady_clock::now();
      std::vector<fs::DiskMap> maps(uris.size());
      std::vector<std::exception_ptr> errors(uris.size());
      std::vector<std::thread> threads;
      for (size_t d = 0; d < uris.size(); d++)
        threads.emplace_back([&, d] {
          try {
            maps[d] = fs::map_disk(*disks[d].open());
          } catch (...) {
            errors[d] = std::current_exception();
          }
        });
      for (auto &t : threads) t.join();
      for (auto &e : errors)
        if (e) std::rethrow_exception(e);
      in_process.push_back(seconds_since(t0));
      std::string got = fingerprint(maps[0]) + fingerprint(maps[1]);

      t0 = std::chrono::steady_clock::now();
      std::vector<fs::DiskMap> boxed = fs::map_disks_sandboxed(disks);
      sandboxed.push_back(seconds_since(t0));
      if (got != fingerprint(boxed[0]) + fingerprint(boxed[1])) {
        fprintf(stderr, "map-cost: the sandboxed maps differ from the in-process maps\n");
        return 1;
      }
    }
    printf("%.3f %.3f\n", median(in_process), median(sandboxed));
  } catch (const std::exception &e) {
    fprintf(stderr, "map-cost: %s\n", e.what());
    return 1;
  }
  return 0;
}
