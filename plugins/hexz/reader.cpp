#include "reader.h"

#include <algorithm>
#include <cstring>

#include "remote-prefetch.h"
#include "remote-storage.h"

namespace hexz_plugin {

using hexz::BlockKind;
using hexz::StreamId;

// Cache keys: the block number with the stream id in the low bit, so that
// block i of the disk and block i of the memory stream never collide.
static uint64_t make_key(StreamId s, uint64_t block) { return block << 1 | uint64_t(s); }

Reader::Reader(std::shared_ptr<const hexz::Snapshot> snap, uint64_t cache_size) : snap_(std::move(snap)) {
  for (const hexz::Snapshot *s = snap_.get(); s; s = s->parent().get())
    remote_ = remote_ || dynamic_cast<hexz::RemoteStorage *>(&s->storage());
  if (cache_size > 0) cache_ = std::make_unique<BlockCache>(static_cast<const BlockSource &>(*this), cache_size, snap_->block_size());
}

void Reader::load(uint64_t key, unsigned char *buf, uint32_t) const {
  snap_->read_block(StreamId(key & 1), key >> 1, buf);
}

// Remote snapshots: the stored bytes of every block the request needs (and
// the block cache does not hold) are fetched first, adjacent ones in one range
// request, so that decoding them one by one below costs no round trip each.
void Reader::prefetch_remote(StreamId s, uint64_t offset, uint32_t count) {
  const uint64_t size = snap_->stream_size(s);
  const uint32_t bs = snap_->block_size();
  if (count == 0 || offset >= size) return;
  uint64_t first = offset / bs, last = (std::min<uint64_t>(offset + count, size) - 1) / bs;
  if (first == last) return;  // one block: its own read is one request anyway
  hexz::prefetch_blocks(*snap_, s, first, last - first + 1,
                        [&](uint64_t i) { return !cache_ || !cache_->contains(make_key(s, i)); });
}

void Reader::pread(StreamId s, void *buf, uint32_t count, uint64_t offset) {
  auto *out = static_cast<unsigned char *>(buf);
  const uint64_t size = snap_->stream_size(s);
  const uint32_t bs = snap_->block_size();
  if (remote_) prefetch_remote(s, offset, count);
  while (count > 0) {
    if (offset >= size) {  // nbdkit checks bounds; be safe anyway
      std::memset(out, 0, count);
      return;
    }
    uint64_t i = offset / bs;
    uint32_t in_block = uint32_t(offset % bs);
    uint32_t blen = hexz::block_length(size, bs, i);
    uint32_t n = std::min(count, blen - in_block);
    bool whole = in_block == 0 && n == blen;

    const hexz::IndexEntry e = snap_->entry(s, i);
    if (e.kind == BlockKind::ZERO) {
      std::memset(out, 0, n);
    } else if (!cache_) {
      snap_->read_part(s, i, e, in_block, n, out);
    } else if (whole) {
      cache_->read_whole(make_key(s, i), blen, out);
    } else {
      cache_->read(make_key(s, i), blen, in_block, n, out);
    }

    out += n;
    offset += n;
    count -= n;
  }
}

void Reader::prefetch(StreamId s, uint32_t count, uint64_t offset) {
  if (!cache_ || count == 0) return;
  const uint64_t size = snap_->stream_size(s);
  const uint32_t bs = snap_->block_size();
  uint64_t end = std::min<uint64_t>(offset + count, size);
  for (uint64_t i = offset / bs; i * bs < end; i++)
    if (snap_->entry(s, i).kind != BlockKind::ZERO) cache_->prefetch(make_key(s, i), hexz::block_length(size, bs, i));
}

}  // namespace hexz_plugin
