// make-thin PARENT.st IMAGE CHILD.st: writes CHILD.st, a thin snapshot of
// IMAGE on top of PARENT.st, in which every disk block that reads the same
// in the parent is a PARENT reference.  Only the tests use it (to serve thin
// snapshots through the plugin without depending on hexz-commit).
#include <cstdio>
#include <cstring>
#include <vector>

#include "error.h"
#include "pack.h"
#include "snapshot.h"
#include "source.h"
#include "writer.h"

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: make-thin PARENT.st IMAGE CHILD.st\n");
    return 2;
  }
  try {
    auto parent = hexz::Snapshot::open(argv[1]);
    auto src = hexz::open_file_source(argv[2]);
    hexz::WriterOptions wo;
    wo.block_size = parent->block_size();
    wo.parent = std::make_pair(std::string(argv[1]), parent->uuid());
    hexz::SnapshotWriter w(argv[3], wo);
    const uint32_t bs = wo.block_size;
    std::vector<unsigned char> a(bs), b(bs);
    hexz::PackOptions po;
    po.threads = 1;
    po.take = [&](uint64_t i) {
      uint32_t len = hexz::block_length(src->size(), bs, i);
      src->pread(a.data(), len, i * bs);
      parent->read(hexz::StreamId::DISK, i * bs, len, b.data());
      return std::memcmp(a.data(), b.data(), len) != 0;
    };
    hexz::PackStats st = hexz::pack_stream(w, hexz::StreamId::DISK, *src, po);
    w.commit();
    std::printf("%llu parent blocks, %llu data blocks\n", (unsigned long long)st.parent_blocks,
                (unsigned long long)st.data_blocks);
  } catch (const hexz::Error &e) {
    std::fprintf(stderr, "make-thin: %s\n", e.what());
    return 1;
  }
  return 0;
}
