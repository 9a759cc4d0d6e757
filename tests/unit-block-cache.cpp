// The plugin's block cache (plugins/hexz/block-cache.h) under contention.
//
// A waiter once slept forever: it counted itself on the entry being loaded,
// was woken when that load ended, but before it ran the entry was evicted
// and a third thread registered the key anew; the new load (a whole-block
// read, which keeps no entry when nobody is counted on it) ended without
// notifying, and nothing else was left to wake the waiter (CI hung in
// test-plugin-random.sh).  It shows only when activity stops right after,
// so this runs many short rounds of a few threads reading a few blocks
// through a one-block cache, mostly whole-block reads; against the old code
// it hung in every run.  A hang fails the test by its timeout; every byte
// read must be its block's own.
#include <atomic>
#include <criterion/criterion.h>
#include <random>
#include <thread>
#include <vector>

#include "block-cache.h"

using hexz_plugin::BlockCache;

namespace {

constexpr uint32_t BLOCK = 4096;

unsigned char pattern(uint64_t key, uint32_t i) { return static_cast<unsigned char>(key * 131 + i * 7 + (i >> 8)); }

// Yields in every load, so that loads overlap.
class SlowSource : public hexz_plugin::BlockSource {
 public:
  void load(uint64_t key, unsigned char *buf, uint32_t len) const override {
    loads++;
    std::this_thread::yield();
    for (uint32_t i = 0; i < len; i++) buf[i] = pattern(key, i);
  }
  mutable std::atomic<uint64_t> loads{0};
};

}  // namespace

Test(block_cache, short_contended_rounds_neither_hang_nor_mix_blocks, .timeout = 120) {
  constexpr int ROUNDS = 400, THREADS = 8, READS = 100;
  constexpr uint64_t KEYS = 3;
  std::atomic<uint64_t> wrong{0}, loads{0};
  for (int round = 0; round < ROUNDS; round++) {
    SlowSource src;
    BlockCache cache(src, BLOCK, BLOCK);
    std::vector<std::thread> threads;
    for (int t = 0; t < THREADS; t++)
      threads.emplace_back([&, t] {
        std::mt19937 rng(unsigned(round * THREADS + t + 1));
        std::vector<unsigned char> buf(BLOCK);
        for (int r = 0; r < READS; r++) {
          const uint64_t key = rng() % KEYS;
          switch (rng() % 8) {
            case 0: {
              const uint32_t off = rng() % BLOCK, n = 1 + rng() % (BLOCK - off);
              cache.read(key, BLOCK, off, n, buf.data());
              for (uint32_t i = 0; i < n; i++) wrong += buf[i] != pattern(key, off + i);
              break;
            }
            case 1: cache.prefetch(key, BLOCK); break;
            default:
              cache.read_whole(key, BLOCK, buf.data());
              for (uint32_t i = 0; i < BLOCK; i++) wrong += buf[i] != pattern(key, i);
          }
        }
      });
    for (auto &th : threads) th.join();
    loads += src.loads;
  }
  cr_assert_eq(wrong.load(), 0u, "%lu wrong bytes", (unsigned long)wrong.load());
  // Far more loads than blocks: the cache evicted and reloaded all along.
  cr_assert_gt(loads.load(), uint64_t(ROUNDS) * KEYS * 4, "only %lu loads", (unsigned long)loads.load());
}
