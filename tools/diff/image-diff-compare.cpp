#include "image-diff-compare.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <libnbd.h>
#include <poll.h>
#include <utility>

#include "codec.h"
#include "error.h"

namespace hexz {

namespace {

constexpr uint64_t BS = OVERLAY_BLOCK;
// Requests of up to 512 KiB, at most 2 MiB of them in flight per side: large
// enough that request overhead vanishes, and small enough that the 4 MiB
// being compared stay in the CPU's caches between the socket copy and the
// comparison (2 MiB x 8 made every path 30-45% slower on a 2-core EPYC).
// Scattered small chunks (the blocks the indexes could not decide, say one
// 64 KiB block in eight) are latency-bound instead, so up to MAX_SLOTS of
// them are in flight at once; freed slots are reused last-in first-out, so
// dense runs keep cycling through the same few buffers.
constexpr uint64_t CHUNK_BLOCKS = 128;
constexpr uint64_t WINDOW_BYTES = 4 * CHUNK_BLOCKS * OVERLAY_BLOCK;
constexpr unsigned MAX_SLOTS = 32;
constexpr uint64_t INF = UINT64_MAX;

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;  // [first, end) block ranges

// The blocks of SRC that read as zero, from its block status, with
// everything beyond its end counted as zero too (so a shorter BASE compares
// against zeroes).  Byte ranges are shrunk to the whole blocks inside them.
Ranges zero_blocks(Source &src) {
  const uint64_t size = src.size();
  Ranges bytes;
  src.extents(0, size, [&](uint64_t off, uint64_t len, bool zero) {
    if (!zero) return;
    if (!bytes.empty() && bytes.back().second == off)
      bytes.back().second = off + len;
    else
      bytes.emplace_back(off, off + len);
  });
  if (!bytes.empty() && bytes.back().second >= size)
    bytes.back().second = INF;
  else
    bytes.emplace_back(size, INF);
  Ranges blocks;
  for (auto [s, e] : bytes) {
    uint64_t b0 = s / BS + (s % BS ? 1 : 0), b1 = e == INF ? INF : e / BS;
    if (b1 > b0) blocks.emplace_back(b0, b1);
  }
  return blocks;
}

// Walks a sorted Ranges list with monotonically increasing positions.
class ZeroCursor {
 public:
  explicit ZeroCursor(const Ranges &r) : r_(r) {}
  // Whether block P is in a range (zero), and where that state ends.
  std::pair<bool, uint64_t> at(uint64_t p) {
    while (i_ < r_.size() && r_[i_].second <= p) i_++;
    if (i_ < r_.size() && r_[i_].first <= p) return {true, r_[i_].second};
    return {false, i_ < r_.size() ? r_[i_].first : INF};
  }

 private:
  const Ranges &r_;
  size_t i_ = 0;
};

struct Chunk {
  uint64_t first = 0, count = 0;
  bool read_base = false, read_mod = false;
};

// The ranges to read: every block that is neither zero on both sides nor
// known to be equal (EQ), in requests of at most CHUNK_BLOCKS.  A side that
// is zero throughout a chunk is not read at all.
std::vector<Chunk> plan_chunks(const Ranges &zb, const Ranges &zm, const Ranges &eq, uint64_t nblocks) {
  std::vector<Chunk> chunks;
  ZeroCursor cb(zb), cm(zm), ce(eq);
  uint64_t p = 0;
  while (p < nblocks) {
    auto [bz, bend] = cb.at(p);
    auto [mz, mend] = cm.at(p);
    auto [same, eend] = ce.at(p);
    uint64_t end = std::min({bend, mend, eend, nblocks});
    if (!(bz && mz) && !same) {
      for (uint64_t q = p; q < end;) {
        Chunk *last = chunks.empty() ? nullptr : &chunks.back();
        if (last && last->first + last->count == q && last->count < CHUNK_BLOCKS) {
          // Contiguous with the previous chunk: extend it (reading a zero
          // stretch of one side is cheaper than another request).
          uint64_t n = std::min(CHUNK_BLOCKS - last->count, end - q);
          last->count += n;
          last->read_base |= !bz;
          last->read_mod |= !mz;
          q += n;
        } else {
          uint64_t n = std::min(CHUNK_BLOCKS, end - q);
          chunks.push_back({q, n, !bz, !mz});
          q += n;
        }
      }
    }
    p = end;
  }
  return chunks;
}

struct Slot;
struct Side {
  Slot *slot = nullptr;
  const ImageInput *in = nullptr;
  std::vector<unsigned char> buf;
  bool used = false;  // read for the current chunk (else it is all zero)
  uint64_t off = 0;
  size_t len = 0;
};
struct Slot {
  Chunk c;
  Side base, mod;
  int pending = 0;
  int err = 0;
  std::string failed;  // which side, for the message
};

int read_done(void *user, int *error) {
  auto *s = static_cast<Side *>(user);
  if (*error && !s->slot->err) {
    s->slot->err = *error;
    s->slot->failed = s->in->spec;
  }
  s->slot->pending--;
  return 1;  // retire the command
}

void start_read(Side &s, const Chunk &c, bool wanted) {
  const uint64_t size = s.in->size();
  const uint64_t start = c.first * BS, end = std::min((c.first + c.count) * BS, size);
  s.used = wanted && end > start;
  if (!s.used) return;
  s.off = start;
  s.len = size_t(end - start);
  if (s.len < c.count * BS) memset(s.buf.data() + s.len, 0, c.count * BS - s.len);
  if (!s.in->handle) {  // a raw image read directly: from the page cache or a local disk
    s.in->source->pread(s.buf.data(), s.len, s.off);
    return;
  }
  nbd_completion_callback cb = {.callback = read_done, .user_data = &s, .free = nullptr};
  if (nbd_aio_pread(s.in->handle, s.buf.data(), s.len, s.off, cb, 0) == -1)
    throw Error(s.in->spec + ": read of " + std::to_string(s.len) + " bytes at offset " + std::to_string(s.off) +
                    ": " + nbd_get_error(),
                EIO);
  s.slot->pending++;
}

// Waits until at least one of the two connections made progress.
void poll_both(const ImageInput &a, const ImageInput &b) {
  const ImageInput *ins[2] = {&a, &b};
  struct pollfd fds[2];
  nbd_handle *hs[2];
  int n = 0;
  for (const ImageInput *in : ins) {
    if (!in->handle) continue;
    unsigned dir = nbd_aio_get_direction(in->handle);
    if (!dir) continue;
    int fd = nbd_aio_get_fd(in->handle);
    if (fd < 0) throw Error(in->spec + ": " + nbd_get_error(), EIO);
    fds[n] = {fd, short(((dir & LIBNBD_AIO_DIRECTION_READ) ? POLLIN : 0) | ((dir & LIBNBD_AIO_DIRECTION_WRITE) ? POLLOUT : 0)), 0};
    hs[n++] = in->handle;
  }
  if (n == 0) throw Error("internal error: reads pending but no connection is waiting for data", EIO);
  if (poll(fds, nfds_t(n), -1) < 0) {
    if (errno == EINTR) return;
    throw_errno("poll");
  }
  for (int i = 0; i < n; i++) {
    int r = 0;
    if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
      r = nbd_aio_notify_read(hs[i]);
    else if (fds[i].revents & POLLOUT)
      r = nbd_aio_notify_write(hs[i]);
    if (r == -1) throw Error((hs[i] == a.handle ? a.spec : b.spec) + ": " + nbd_get_error(), EIO);
  }
}

}  // namespace

CompareResult compare_images(ImageInput &base, ImageInput &modified, const CompareOptions &o) {
  const uint64_t disk = std::max(base.size(), modified.size());
  CompareResult res;
  res.blocks = disk / BS + (disk % BS ? 1 : 0);
  const std::vector<Chunk> chunks = plan_chunks(zero_blocks(*base.source), zero_blocks(*modified.source), o.known_equal, res.blocks);

  // Slots live at fixed addresses: their Sides point back at them.
  std::vector<std::unique_ptr<Slot>> slots(MAX_SLOTS);
  std::vector<Slot *> free_slots;
  for (auto &p : slots) {
    p = std::make_unique<Slot>();
    p->base.slot = p->mod.slot = p.get();
    p->base.in = &base;
    p->mod.in = &modified;
    free_slots.push_back(p.get());
  }
  // On an error, wait for the reads still in flight before the buffers go.
  struct Drain {
    std::vector<std::unique_ptr<Slot>> &slots;
    ImageInput &a, &b;
    ~Drain() {
      for (auto &s : slots)
        while (s->pending > 0) try {
            poll_both(a, b);
          } catch (...) {
            return;  // the connections are dead: nothing will land any more
          }
    }
  } drain{slots, base, modified};

  std::deque<Slot *> inflight;  // in chunk order
  uint64_t inflight_bytes = 0;
  size_t next = 0;
  while (next < chunks.size() || !inflight.empty()) {
    while (next < chunks.size() && !free_slots.empty() &&
           (inflight.empty() || inflight_bytes + chunks[next].count * BS <= WINDOW_BYTES)) {
      Slot &s = *free_slots.back();
      free_slots.pop_back();
      s.c = chunks[next];
      s.err = 0;
      const size_t need = size_t(s.c.count * BS);
      if (s.base.buf.size() < need) s.base.buf.resize(need);
      if (s.mod.buf.size() < need) s.mod.buf.resize(need);
      start_read(s.base, s.c, s.c.read_base);
      start_read(s.mod, s.c, s.c.read_mod);
      inflight.push_back(&s);
      inflight_bytes += need;
      next++;
    }
    Slot &s = *inflight.front();
    while (s.pending > 0) poll_both(base, modified);
    if (s.err)
      throw Error(s.failed + ": read error in bytes " + std::to_string(s.c.first * BS) + " to " +
                      std::to_string((s.c.first + s.c.count) * BS) + ": " + strerror(s.err),
                  EIO);
    res.bytes_read += (s.base.used ? s.base.len : 0) + (s.mod.used ? s.mod.len : 0);

    const unsigned char *pa = s.base.used ? s.base.buf.data() : nullptr;
    const unsigned char *pm = s.mod.used ? s.mod.buf.data() : nullptr;
    uint64_t run = 0, run_len = 0;  // current run of changed non-zero blocks
    auto flush = [&] {
      if (run_len && o.changed_data) o.changed_data(s.c.first + run, run_len, pm + run * BS);
      run_len = 0;
    };
    for (uint64_t k = 0; k < s.c.count; k++) {
      bool changed, now_zero;
      if (pa && pm) {
        changed = memcmp(pa + k * BS, pm + k * BS, BS) != 0;
        now_zero = changed && is_zero(pm + k * BS, BS);
      } else if (pm) {  // BASE reads as zero here
        now_zero = is_zero(pm + k * BS, BS);
        changed = !now_zero;
      } else {  // MODIFIED reads as zero here
        changed = !is_zero(pa + k * BS, BS);
        now_zero = true;
      }
      if (changed) {
        res.changed.push_back(s.c.first + k);
        if (now_zero) res.zeroed++;
      }
      if (changed && !now_zero) {
        if (!run_len) run = k;
        run_len++;
      } else {
        flush();
      }
    }
    flush();
    inflight.pop_front();
    inflight_bytes -= s.c.count * BS;
    free_slots.push_back(&s);
    if (o.progress) o.progress(std::min((s.c.first + s.c.count) * BS, disk), disk);
  }
  res.bytes_skipped = 2 * disk - res.bytes_read;
  if (o.progress) o.progress(disk, disk);
  return res;
}

}  // namespace hexz
