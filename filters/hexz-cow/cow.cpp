#include "cow.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>
#include <vector>

#include <nbdkit-filter.h>

#include "error.h"
#include "overlay-meta.h"
#include "util.h"

namespace hexz_cow {

using hexz::Error;

namespace {

constexpr uint64_t BS = hexz::OVERLAY_BLOCK;

uint64_t round_up(uint64_t n) { return (n + BS - 1) / BS * BS; }

}  // namespace

Cow::Cow(const CowConfig &cfg) : overlay_(cfg.overlay), expected_size_(cfg.expected_size) {
  if (!overlay_.persistent()) return;
  overlay_.lock();
  meta_ = cfg.meta.empty() ? hexz::default_meta_path(cfg.overlay) : cfg.meta;
  // Refuse bad side files at start-up: fully when the snapshot told us the
  // disk size, else as far as possible without it (attach does the rest).
  if (expected_size_) {
    validate(*expected_size_);
  } else {
    hexz::check_meta_size(meta_, UINT64_MAX);  // entries are checked once the size is known
  }
  if (overlay_.writable()) check_meta_writable();
}

// Every flush replaces .meta by a new file renamed into its directory.  If
// that directory refuses new files, writes could be acknowledged but never
// made durable: serve the overlay read-only instead, so that clients see a
// read-only export (and EPERM if they write anyway).
void Cow::check_meta_writable() {
  std::string dir = hexz::dir_name(meta_), probe;
  try {
    hexz::UniqueFd fd = hexz::make_temp_file(dir, ".hexz-cow-probe", probe);
    unlink(probe.c_str());
  } catch (const Error &e) {
    if (e.err() != EACCES && e.err() != EPERM && e.err() != EROFS) throw;
    overlay_.make_read_only(meta_ + ": cannot create files in " + dir + " (" + strerror(e.err()) +
                            "), so no write could ever be made durable");
  }
}

std::vector<uint64_t> Cow::validate(uint64_t disk_size) {
  const uint64_t nblocks = round_up(disk_size) / BS;
  std::vector<uint64_t> blocks;
  if (overlay_.persistent()) blocks = hexz::read_meta(meta_, nblocks);
  uint64_t len = overlay_.length();
  if (len > nblocks * BS)
    throw Error(overlay_.name() + ": overlay is " + std::to_string(len) + " bytes, longer than the disk (" +
                    std::to_string(disk_size) + " bytes, " + std::to_string(nblocks * BS) +
                    " rounded up to 4096): it does not belong to this disk",
                EINVAL);
  return blocks;
}

void Cow::attach(uint64_t disk_size) {
  std::lock_guard<std::mutex> g(attach_mu_);
  if (attached_) {
    if (disk_size != disk_size_)
      throw Error(overlay_.name() + ": the disk size changed from " + std::to_string(disk_size_) + " to " +
                      std::to_string(disk_size) + " bytes",
                  EIO);
    return;
  }
  std::vector<uint64_t> blocks = validate(disk_size);
  disk_size_ = disk_size;
  nblocks_ = round_up(disk_size) / BS;
  map_.reset(nblocks_);
  map_.load(blocks);
  saved_gen_ = map_.generation();
  attached_ = true;
}

void Cow::read_next(nbdkit_next *next, void *buf, uint64_t len, uint64_t off) {
  int err = 0;
  if (next->pread(next, buf, uint32_t(len), off, 0, &err) == -1)
    throw Error("hexz-cow: reading " + std::to_string(len) + " bytes at offset " + std::to_string(off) +
                    " from the plugin failed",
                err ? err : EIO);
}

// Runs of modified blocks come from the overlay with one pread, runs of
// unmodified blocks from the plugin with one call: never one call per block.
void Cow::read(nbdkit_next *next, void *buf, uint32_t count, uint64_t off) {
  char *p = static_cast<char *>(buf);
  const uint64_t end = off + count;
  while (off < end) {
    const uint64_t b = off / BS;
    const bool modified = map_.test(b);
    const uint64_t stop = std::min(end, map_.run_end(b, nblocks_, modified) * BS);
    if (stop <= off) continue;  // block B was modified meanwhile: test again
    if (modified)
      overlay_.read(p, stop - off, off);
    else
      read_next(next, p, stop - off, off);
    p += stop - off;
    off = stop;
  }
}

void Cow::write(nbdkit_next *next, const void *buf, uint32_t count, uint64_t off) { modify(next, buf, count, off); }

void Cow::zero(nbdkit_next *next, uint32_t count, uint64_t off) { modify(next, nullptr, count, off); }

// Whole blocks (the disk's last block counts as whole when the request
// reaches the end of the disk) are written, or punched, straight into the
// overlay; partial blocks are read-modify-written.  A block is marked
// modified only once its bytes are in the overlay, so readers never see a
// modified block whose data is not there yet.
void Cow::modify(nbdkit_next *next, const void *data, uint32_t count, uint64_t off) {
  if (count == 0) return;
  const char *src = static_cast<const char *>(data);
  const uint64_t end = off + count;
  BlockLocks::Guard guard(locks_, off / BS, (end - 1) / BS);
  uint64_t pos = off;
  while (pos < end) {
    const uint64_t b = pos / BS, bstart = b * BS, bend = std::min(bstart + BS, disk_size_);
    uint64_t stop;
    if (pos == bstart && end >= bend) {
      stop = end >= disk_size_ ? end : end / BS * BS;
      if (src)
        overlay_.write(src + (pos - off), stop - pos, pos);
      else
        overlay_.punch(pos, round_up(stop) - pos);
      map_.set_range(b, (stop - 1) / BS);
    } else {
      stop = std::min(end, bend);
      rmw_block(next, b, src ? src + (pos - off) : nullptr, pos, stop - pos);
      map_.set_range(b, b);
    }
    pos = stop;
  }
}

void Cow::rmw_block(nbdkit_next *next, uint64_t b, const char *data, uint64_t off, uint64_t len) {
  const uint64_t bstart = b * BS, valid = std::min(BS, disk_size_ - bstart);
  char block[BS];
  if (map_.test(b))
    overlay_.read(block, valid, bstart);
  else
    read_next(next, block, valid, bstart);
  if (data)
    memcpy(block + (off - bstart), data, len);
  else
    memset(block + (off - bstart), 0, len);
  // Only the disk's bytes: the overlay never grows past the disk.
  overlay_.write(block, valid, bstart);
}

namespace {

void add_extent(nbdkit_extents *out, uint64_t off, uint64_t len, uint32_t type) {
  if (nbdkit_add_extent(out, off, len, type) == -1) throw Error("hexz-cow: nbdkit_add_extent failed", errno);
}

}  // namespace

// Modified runs: allocated overlay ranges are data, holes (zeroed or trimmed
// blocks) are hole+zero.  Unmodified runs: what the plugin says.
void Cow::extents(nbdkit_next *next, uint32_t count, uint64_t off, uint32_t flags, nbdkit_extents *out) {
  const uint64_t end = off + count;
  const bool req_one = flags & NBDKIT_FLAG_REQ_ONE;
  while (off < end) {
    const uint64_t b = off / BS;
    const bool modified = map_.test(b);
    const uint64_t stop = std::min(end, map_.run_end(b, nblocks_, modified) * BS);
    if (stop <= off) continue;
    if (modified) {
      overlay_.allocation(off, stop - off, [&](uint64_t o, uint64_t l, bool hole) {
        add_extent(out, o, l, hole ? NBDKIT_EXTENT_HOLE | NBDKIT_EXTENT_ZERO : 0);
      });
    } else if (next->can_extents(next) != 1) {
      add_extent(out, off, stop - off, 0);
    } else {
      int err = 0;
      nbdkit_extents *ex;
      if (req_one) {
        ex = nbdkit_extents_new(off, stop);
        if (ex && next->extents(next, uint32_t(stop - off), off, flags, ex, &err) == -1) {
          nbdkit_extents_free(ex);
          ex = nullptr;
        }
      } else {
        ex = nbdkit_extents_full(next, uint32_t(stop - off), off, flags, &err);
      }
      if (!ex) throw Error("hexz-cow: extents from the plugin failed", err ? err : EIO);
      try {
        for (size_t i = 0, n = nbdkit_extents_count(ex); i < n; i++) {
          const nbdkit_extent e = nbdkit_get_extent(ex, i);
          add_extent(out, e.offset, e.length, e.type);
        }
      } catch (...) {
        nbdkit_extents_free(ex);
        throw;
      }
      nbdkit_extents_free(ex);
    }
    if (req_one) return;
    off = stop;
  }
}

// Order matters for crash safety: the modified set is taken first, every
// block in it already has its data in the overlay; that data is made durable;
// only then does the new .meta replace the old one.
void Cow::flush() {
  if (!overlay_.persistent()) return;  // nothing of it survives nbdkit anyway
  std::lock_guard<std::mutex> g(flush_mu_);
  if (!attached_) return;
  const uint64_t gen = map_.generation();
  const bool changed = gen != saved_gen_;
  std::vector<uint64_t> blocks;
  if (changed) blocks = map_.to_vector();
  overlay_.sync();
  if (changed) {
    hexz::write_meta(meta_, blocks);
    saved_gen_ = gen;
  }
}

}  // namespace hexz_cow
