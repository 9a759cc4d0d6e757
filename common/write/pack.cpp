#include "pack.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "error.h"

namespace hexz {

namespace {

// A fixed pool of workers running tasks in submission order.
class Pool {
 public:
  explicit Pool(unsigned n) {
    for (unsigned i = 0; i < n; i++) threads_.emplace_back([this] { run(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> g(m_);
      done_ = true;
    }
    cv_.notify_all();
    for (auto &t : threads_) t.join();
  }
  void submit(std::function<void()> f) {
    {
      std::lock_guard<std::mutex> g(m_);
      q_.push_back(std::move(f));
    }
    cv_.notify_one();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> f;
      {
        std::unique_lock<std::mutex> l(m_);
        cv_.wait(l, [this] { return done_ || !q_.empty(); });
        if (q_.empty()) return;
        f = std::move(q_.front());
        q_.pop_front();
      }
      f();
    }
  }
  std::vector<std::thread> threads_;
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> q_;
  bool done_ = false;
};

// A batch of consecutive blocks, read by the main thread and encoded by a
// worker.  Batches are large enough (a few MiB) that per-task overhead is
// negligible and small enough to keep memory bounded.
struct Batch {
  uint64_t first = 0;
  std::unique_ptr<unsigned char[]> data;  // only allocated if a block is read
  std::vector<uint32_t> len;
  std::vector<uint8_t> state;  // 0 read, 1 hole (zero), 2 parent
  std::vector<EncodedBlock> out;
  std::promise<void> done;
};

}  // namespace

PackStats pack_stream(SnapshotWriter &w, StreamId id, Source &src, const PackOptions &o) {
  const uint32_t bs = w.options().block_size;
  const Method method = w.options().method;
  const int level = w.options().level;
  const uint64_t size = src.size();
  const uint64_t nblocks = size / bs + (size % bs ? 1 : 0);
  unsigned threads = o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  const uint64_t per_batch = std::max<uint64_t>(1, (4u << 20) / bs);
  const size_t max_inflight = threads * 2 + 1;

  PackStats st;
  st.blocks = nblocks;
  w.begin_stream(id, size);

  // Holes, from SEEK_DATA or NBD block status, as a sorted list of ranges.
  std::vector<std::pair<uint64_t, uint64_t>> holes;
  src.extents(0, size, [&](uint64_t off, uint64_t len, bool zero) {
    if (!zero) return;
    if (!holes.empty() && holes.back().second == off)
      holes.back().second += len;  // sources may report one hole in pieces
    else
      holes.emplace_back(off, off + len);
  });
  size_t hole_i = 0;
  auto block_is_hole = [&](uint64_t start, uint64_t end) {
    while (hole_i < holes.size() && holes[hole_i].second <= start) hole_i++;
    return hole_i < holes.size() && holes[hole_i].first <= start && holes[hole_i].second >= end;
  };
  // How many whole blocks from block FIRST on lie in one hole: a sparse
  // disk's holes are skipped a hole at a time, not a batch at a time, so
  // packing costs what the data costs whatever the disk's size.
  auto hole_blocks_from = [&](uint64_t first) -> uint64_t {
    uint64_t start = first * bs;
    while (hole_i < holes.size() && holes[hole_i].second <= start) hole_i++;
    if (hole_i == holes.size() || holes[hole_i].first > start) return 0;
    uint64_t hole_end = holes[hole_i].second;
    return hole_end >= size ? nblocks - first : hole_end / bs - first;
  };

  // Declared before the pool so that, if anything throws, the pool's threads
  // are joined before the batches they work on are freed.
  std::exception_ptr worker_error;
  std::mutex err_m;
  std::deque<std::unique_ptr<Batch>> inflight;
  Pool pool(threads);

  auto drain_one = [&] {
    std::unique_ptr<Batch> b = std::move(inflight.front());
    inflight.pop_front();
    b->done.get_future().wait();
    {
      std::lock_guard<std::mutex> g(err_m);
      if (worker_error) std::rethrow_exception(worker_error);
    }
    for (size_t k = 0; k < b->len.size(); k++) {
      uint64_t i = b->first + k;
      if (b->state[k] == 2) {
        w.put_parent(i);
        st.parent_blocks++;
      } else if (b->out[k].kind == BlockKind::ZERO) {
        st.zero_blocks++;  // ZERO is the default entry: nothing to write
      } else {
        w.put(i, b->out[k]);
        st.data_blocks++;
      }
    }
    if (o.progress) o.progress(std::min<uint64_t>((b->first + b->len.size()) * bs, size), size);
  };

  for (uint64_t next = 0; next < nblocks;) {
    if (!o.take) {
      if (uint64_t skip = hole_blocks_from(next)) {
        st.zero_blocks += skip;  // ZERO is the default entry: nothing to write
        next += skip;
        continue;
      }
    }
    const uint64_t first = next;
    auto b = std::make_unique<Batch>();
    b->first = first;
    const uint64_t n = std::min<uint64_t>(per_batch, nblocks - first);
    next = first + n;
    b->len.resize(n);
    b->state.resize(n);
    b->out.resize(n);
    bool any_data = false;
    for (uint64_t k = 0; k < n; k++) {
      uint64_t i = first + k;
      uint64_t start = i * bs;
      uint32_t len = uint32_t(std::min<uint64_t>(bs, size - start));
      b->len[k] = len;
      if (o.take && !o.take(i))
        b->state[k] = 2;
      else if (block_is_hole(start, start + len))
        b->state[k] = 1;
      any_data |= b->state[k] == 0;
    }
    if (!any_data) {
      // Nothing to read or compress: a huge sparse or unchanged region
      // costs only its index entries.
      b->done.set_value();
      inflight.push_back(std::move(b));
      if (inflight.size() >= max_inflight) drain_one();
      continue;
    }
    // Read runs of consecutive blocks that are neither holes nor parent
    // references with one call each.
    b->data.reset(new unsigned char[n * bs]);
    uint64_t run_start = 0, run_bytes = 0;
    auto flush_run = [&] {
      if (run_bytes) {
        src.pread(b->data.get() + run_start * bs, run_bytes, (first + run_start) * bs);
        st.bytes_read += run_bytes;
      }
      run_bytes = 0;
    };
    for (uint64_t k = 0; k < n; k++) {
      if (b->state[k] != 0) {
        flush_run();
        continue;
      }
      if (run_bytes == 0) run_start = k;
      run_bytes += b->len[k];
    }
    flush_run();

    Batch *raw = b.get();
    pool.submit([raw, bs, method, level, &worker_error, &err_m] {
      try {
        for (size_t k = 0; k < raw->len.size(); k++) {
          if (raw->state[k] == 0)
            encode_block(raw->data.get() + k * bs, raw->len[k], method, level, raw->out[k]);
        }
      } catch (...) {
        std::lock_guard<std::mutex> g(err_m);
        if (!worker_error) worker_error = std::current_exception();
      }
      raw->done.set_value();
    });
    inflight.push_back(std::move(b));
    if (inflight.size() >= max_inflight) drain_one();
  }
  while (!inflight.empty()) drain_one();
  w.end_stream();
  return st;
}

}  // namespace hexz
