#include "snapshot.h"

#include <algorithm>
#include <cstring>

#include "checksum.h"
#include "codec.h"
#include "endian.h"
#include "error.h"
#include "remote-storage.h"

namespace hexz {

// PATH may be a URL (remote-storage.h).
std::shared_ptr<const Snapshot> Snapshot::open(const std::string &path) { return open(open_storage(path)); }

std::shared_ptr<const Snapshot> Snapshot::open(std::unique_ptr<Storage> storage) {
  std::vector<Uuid> seen;
  return open_chain(std::move(storage), 0, seen);
}

std::string Snapshot::read_section(const SectionDesc &d) const {
  std::string buf(d.length, '\0');
  storage_->read(buf.data(), d.length, d.offset);
  if (checksum(buf.data(), buf.size()) != d.checksum)
    throw Error(path_ + ": not a valid hexz snapshot: checksum mismatch in section of type " + std::to_string(d.type),
                EIO);
  return buf;
}

std::shared_ptr<const Snapshot> Snapshot::open_chain(std::unique_ptr<Storage> storage, unsigned depth,
                                                     std::vector<Uuid> &seen) {
  const std::string path = storage->name();
  if (depth >= MAX_CHAIN_DEPTH)
    throw Error(path + ": snapshot chain is deeper than " + std::to_string(MAX_CHAIN_DEPTH) + " snapshots", EINVAL);
  std::shared_ptr<Snapshot> s(new Snapshot);
  s->path_ = path;
  s->storage_ = std::move(storage);
  uint64_t file_size = s->storage_->size();
  if (file_size < DATA_START)
    throw Error(path + ": not a valid hexz snapshot: file is only " + std::to_string(file_size) +
                    " bytes (truncated?)",
                EIO);
  unsigned char hbuf[HEADER_SIZE];
  s->storage_->read(hbuf, HEADER_SIZE, 0);
  s->header_ = decode_header(hbuf, file_size, path);
  const Header &h = s->header_;

  for (auto &uuid : seen)
    if (uuid == h.uuid) throw Error(path + ": snapshot chain has a cycle (UUID " + uuid_to_string(uuid) + " appears twice)", EINVAL);
  seen.push_back(h.uuid);

  bool have_parent_section = false;
  for (const SectionDesc &d : h.sections) {
    switch (SectionType(d.type)) {
      case SectionType::STREAM_INDEX: {
        if (d.length < STREAM_HEADER_SIZE) throw Error(path + ": not a valid hexz snapshot: stream section too short", EIO);
        // Check the declared length against the block count before reading
        // the whole section, so a huge length field cannot make us allocate.
        unsigned char sh[STREAM_HEADER_SIZE];
        s->storage_->read(sh, STREAM_HEADER_SIZE, d.offset);
        StreamHeader hdr = decode_stream_header(sh, h.block_size, path);
        if (hdr.block_count > (d.length - STREAM_HEADER_SIZE) / INDEX_ENTRY_SIZE ||
            d.length != STREAM_HEADER_SIZE + hdr.block_count * INDEX_ENTRY_SIZE)
          throw Error(path + ": not a valid hexz snapshot: " + stream_name(hdr.id) +
                          " stream index length does not match its block count",
                      EIO);
        Stream &st2 = s->streams_[unsigned(hdr.id)];
        if (st2.present)
          throw Error(path + ": not a valid hexz snapshot: two " + std::string(stream_name(hdr.id)) + " streams", EIO);
        std::string bytes = s->read_section(d);
        st2.present = true;
        st2.hdr = hdr;
        st2.index.assign(bytes.begin() + STREAM_HEADER_SIZE, bytes.end());
        for (uint64_t i = 0; i < hdr.block_count; i++)
          decode_entry(st2.index.data() + i * INDEX_ENTRY_SIZE, h, hdr, i, path);
        break;
      }
      case SectionType::PARENT:
        if (have_parent_section) throw Error(path + ": not a valid hexz snapshot: two parent sections", EIO);
        have_parent_section = true;
        s->parent_ref_ = decode_parent(s->read_section(d), path);
        break;
      case SectionType::METADATA:
        s->metadata_ = decode_metadata(s->read_section(d), path);
        break;
      default:
        break;  // SIGNATURE and unknown optional sections are ignored
    }
  }
  bool thin = h.incompat_flags & INCOMPAT_PARENT;
  if (thin != have_parent_section)
    throw Error(path + ": not a valid hexz snapshot: parent flag and parent section disagree", EIO);
  if (thin) {
    const std::string &rel = s->parent_ref_->path;
    try {
      s->parent_ = open_chain(s->storage_->open_relative(rel), depth + 1, seen);
    } catch (const Error &e) {
      throw Error(path + ": cannot open parent snapshot: " + e.what(), e.err());
    }
    std::string ppath = s->parent_->path();
    if (s->parent_->uuid() != s->parent_ref_->uuid)
      throw Error(path + ": parent " + ppath + " has UUID " + uuid_to_string(s->parent_->uuid()) + " but " +
                      uuid_to_string(s->parent_ref_->uuid) + " was expected (the parent was replaced or modified)",
                  EINVAL);
  }
  return s;
}

IndexEntry Snapshot::entry(StreamId s, uint64_t i) const {
  const Stream &st = streams_[unsigned(s)];
  if (!st.present || i >= st.hdr.block_count) throw Error(path_ + ": block index out of range", EINVAL);
  const unsigned char *p = st.index.data() + i * INDEX_ENTRY_SIZE;
  IndexEntry e;
  e.offset = load_le64(p);
  e.stored_len = load_le32(p + 8);
  e.kind = BlockKind(p[12]);
  e.method = Method(p[13]);
  e.checksum = load_le64(p + 16);
  return e;
}

void Snapshot::read_block(StreamId s, uint64_t i, void *buf) const {
  const Stream &st = streams_[unsigned(s)];
  IndexEntry e = entry(s, i);
  uint32_t len = block_length(st.hdr.logical_size, header_.block_size, i);
  switch (e.kind) {
    case BlockKind::ZERO:
      std::memset(buf, 0, len);
      return;
    case BlockKind::PARENT:
      parent_->read(s, i * header_.block_size, len, buf);
      return;
    case BlockKind::DATA:
      break;
  }
  auto fail = [&](const std::string &what) {
    return Error(path_ + ": " + stream_name(s) + " stream, block " + std::to_string(i) + ": " + what, EIO);
  };
  auto fetch = [&](void *dst, size_t n) {
    try {
      storage_->read(dst, n, e.offset);
    } catch (const Error &err) {
      throw Error(path_ + ": " + stream_name(s) + " stream, block " + std::to_string(i) + ": " + err.what(), err.err());
    }
  };
  if (e.method == Method::RAW) {
    fetch(buf, len);
  } else {
    thread_local std::vector<unsigned char> stored;
    if (stored.size() < e.stored_len) stored.resize(MAX_BLOCK_SIZE);
    fetch(stored.data(), e.stored_len);
    if (!decompress_block(e.method, stored.data(), e.stored_len, buf, len))
      throw fail(std::string(method_name(e.method)) + " data is corrupt");
  }
  if (checksum(buf, len) != e.checksum) throw fail("checksum mismatch (data is damaged)");
}

void Snapshot::read(StreamId s, uint64_t offset, size_t len, void *buf) const {
  auto *out = static_cast<unsigned char *>(buf);
  const Stream &st = streams_[unsigned(s)];
  uint64_t size = st.present ? st.hdr.logical_size : 0;
  const uint32_t bs = header_.block_size;
  thread_local std::vector<unsigned char> tmp;
  while (len > 0) {
    if (offset >= size) {
      std::memset(out, 0, len);
      return;
    }
    uint64_t i = offset / bs;
    uint32_t in_block = uint32_t(offset % bs);
    uint32_t blen = block_length(size, bs, i);
    size_t n = std::min<uint64_t>(len, blen - in_block);
    if (in_block == 0 && n == blen) {
      read_block(s, i, out);
    } else {
      if (tmp.size() < MAX_BLOCK_SIZE) tmp.resize(MAX_BLOCK_SIZE);
      // read_block may recurse into a parent that uses tmp too: decode into a
      // local copy of the pointer's target only after the call returns.
      std::vector<unsigned char> local;
      unsigned char *dst = tmp.data();
      if (entry(s, i).kind == BlockKind::PARENT) {
        local.resize(blen);
        dst = local.data();
      }
      read_block(s, i, dst);
      std::memcpy(out, dst + in_block, n);
    }
    out += n;
    offset += n;
    len -= n;
  }
}

void Snapshot::extents_raw(StreamId s, uint64_t offset, uint64_t len,
                           const std::function<void(uint64_t, uint64_t, bool)> &fn) const {
  const Stream &st = streams_[unsigned(s)];
  uint64_t size = st.present ? st.hdr.logical_size : 0;
  const uint32_t bs = header_.block_size;
  uint64_t end = offset + len;
  while (offset < end) {
    if (offset >= size) {
      fn(offset, end - offset, true);
      return;
    }
    uint64_t i = offset / bs;
    uint64_t bend = std::min<uint64_t>({(i + 1) * bs, size, end});
    IndexEntry e = entry(s, i);
    if (e.kind == BlockKind::PARENT)
      parent_->extents_raw(s, offset, bend - offset, fn);
    else
      fn(offset, bend - offset, e.kind == BlockKind::ZERO);
    offset = bend;
  }
}

void Snapshot::extents(StreamId s, uint64_t offset, uint64_t len,
                       const std::function<void(uint64_t, uint64_t, bool)> &fn) const {
  uint64_t run_off = offset, run_len = 0;
  bool run_zero = false;
  extents_raw(s, offset, len, [&](uint64_t o, uint64_t l, bool z) {
    if (run_len > 0 && z == run_zero) {
      run_len += l;
      return;
    }
    if (run_len > 0) fn(run_off, run_len, run_zero);
    run_off = o;
    run_len = l;
    run_zero = z;
  });
  if (run_len > 0) fn(run_off, run_len, run_zero);
}

}  // namespace hexz
