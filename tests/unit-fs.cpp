// The filesystem layer's defences against hostile disks and subverted
// parser workers: the chunk cache after a failed read, an ext superblock
// with impossible inode counts, and the decoders of what a sandboxed
// worker sends (fs/wire.h).

#include <criterion/criterion.h>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <unistd.h>
#include <vector>

#include "endian.h"
#include "error.h"
#include "fs/chunk-cache.h"
#include "fs/fsmap.h"
#include "fs/wire.h"
#include "source.h"

using namespace hexz;
using namespace hexz::fs;

namespace {

// A 1 MiB disk of bytes (offset % 251) whose reads fail while `broken`.
class FlakySource : public Source {
 public:
  bool broken = false;
  const std::string &name() const override { return name_; }
  uint64_t size() const override { return 1 << 20; }
  void pread(void *buf, size_t len, uint64_t off) override {
    if (broken) {
      memset(buf, 0xEE, len);  // what a failed read leaves behind
      throw Error("injected read error");
    }
    auto *p = static_cast<unsigned char *>(buf);
    for (size_t i = 0; i < len; i++) p[i] = (unsigned char)((off + i) % 251);
  }

 private:
  std::string name_ = "flaky";
};

FsMap sample_map(const Partition &part) {
  FsMap m;
  m.part = part;
  m.type = "ext4";
  m.status = FsStatus::OK;
  Node n;
  n.inode = 12;
  n.type = '-';
  n.mode = 0644;
  n.size = 5;
  n.paths = {"/a.txt"};
  m.nodes.push_back(n);
  m.areas.push_back("inode table of group 0");
  m.extents.push_back({part.start, 4096, AREA | 0});
  m.extents.push_back({part.start + 8192, 4096, 0});
  return m;
}

}  // namespace

Test(chunk_cache, failed_read_is_not_cached) {
  FlakySource disk;
  ChunkCache cache(disk);
  unsigned char buf[100];
  disk.broken = true;
  cr_assert_throw(cache.pread(buf, sizeof buf, 70000), Error);
  disk.broken = false;
  cache.pread(buf, sizeof buf, 70000);  // must read again, not serve the failed buffer
  for (size_t i = 0; i < sizeof buf; i++) cr_assert_eq(buf[i], (70000 + i) % 251, "byte %zu served stale", i);
}

// An ext2 superblock claiming more free inodes than inodes is damage, and
// the inode scan opened before that check is closed on the way out (the
// sanitizer build's leak check fails this test otherwise: fuzz-ext found
// the leak).
Test(ext, impossible_inode_counts_are_damage_without_a_leak) {
  char img[] = "/tmp/hexz-unit-ext.XXXXXX";
  int fd = mkstemp(img);
  cr_assert(fd >= 0);
  close(fd);
  std::string cmd = std::string("PATH=/usr/sbin:/sbin:$PATH; truncate -s 1M ") + img + " && mkfs.ext2 -q -F -N 32 " +
                    img + " > /dev/null 2>&1";
  cr_assert_eq(system(cmd.c_str()), 0, "mkfs.ext2 failed");
  std::vector<unsigned char> b;
  {
    std::ifstream f(img, std::ios::binary);
    b.assign(std::istreambuf_iterator<char>(f), {});
  }
  store_le32(&b[1024 + 16], load_le32(&b[1024]) + 1);  // s_free_inodes_count = s_inodes_count + 1
  std::ofstream(img, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char *>(b.data()),
                                                               std::streamsize(b.size()));
  auto disk = open_file_source(img);
  unlink(img);
  Partition whole;
  whole.length = disk->size();
  FsMap m = map_partition(*disk, whole);
  cr_assert_eq(int(m.status), int(FsStatus::DAMAGED), "%s", m.message.c_str());
  cr_assert(m.message.find("free inodes of") != std::string::npos, "%s", m.message.c_str());
}

Test(wire, roundtrip) {
  Partition part;
  part.number = 1;
  part.start = 1 << 20;
  part.length = 1 << 20;
  FsMap m = decode_fsmap(encode_fsmap(sample_map(part)), part);
  cr_assert_eq(m.nodes.size(), 1u);
  cr_assert_eq(m.nodes[0].paths[0], std::string("/a.txt"));
  cr_assert_eq(m.extents.size(), 2u);
  PartitionTable t;
  t.scheme = "gpt";
  t.partitions.push_back(part);
  t.errors.push_back("partition 2: ignored");
  PartitionTable u = decode_table(encode_table(t), 4 << 20);
  cr_assert_eq(u.partitions.size(), 1u);
  cr_assert_eq(u.errors[0], t.errors[0]);
}

Test(wire, xattrs) {
  Xattrs x = {{"security.selinux", "system_u:object_r:etc_t:s0"}, {"user.a", std::string("\0\n", 2)}};
  cr_assert(decode_xattrs(encode_xattrs(x)) == x);
  cr_assert(decode_xattrs(encode_xattrs({})).empty());
  auto rejects = [](const Xattrs &bad, const char *what) {
    cr_assert_throw(decode_xattrs(encode_xattrs(bad)), WireError, "%s accepted", what);
  };
  rejects({{"user.b", "1"}, {"user.a", "2"}}, "unsorted names");
  rejects({{"", "1"}}, "an empty name");
  rejects({{std::string(513, 'n'), "1"}}, "a name longer than 512 bytes");
  rejects({{"user.big", std::string((1 << 16) + 1, 'v')}}, "a value longer than 64 KiB");
  std::string b = encode_xattrs(x);
  cr_assert_throw(decode_xattrs(b.substr(0, b.size() - 1)), WireError);
  cr_assert_throw(decode_xattrs(b + "x"), WireError);
  uint64_t n = uint64_t(1) << 60;
  memcpy(&b[0], &n, 8);
  cr_assert_throw(decode_xattrs(b), WireError);
}

Test(wire, rejects_what_a_subverted_worker_could_send) {
  Partition part;
  part.number = 1;
  part.start = 1 << 20;
  part.length = 1 << 20;
  auto rejects = [&](FsMap m, const char *what) {
    cr_assert_throw(decode_fsmap(encode_fsmap(m), part), WireError, "%s accepted", what);
  };
  FsMap m = sample_map(part);
  m.extents[1].start = part.start + part.length;
  rejects(m, "an extent beyond the partition");
  m = sample_map(part);
  m.extents[1].owner = 7;
  rejects(m, "an extent owned by a node that does not exist");
  m = sample_map(part);
  std::swap(m.extents[0], m.extents[1]);
  rejects(m, "unsorted extents");
  m = sample_map(part);
  m.nodes[0].mode = 0170000;
  rejects(m, "a mode beyond 07777");
  m = sample_map(part);
  m.nodes[0].paths[0] = "etc/shadow";
  rejects(m, "a relative path");
  m = sample_map(part);
  m.status = FsStatus::DAMAGED;
  rejects(m, "files in a damaged filesystem");
  // Counts larger than the bytes that follow, truncation, trailing bytes.
  std::string b = encode_fsmap(sample_map(part));
  cr_assert_throw(decode_fsmap(b.substr(0, b.size() - 1), part), WireError);
  cr_assert_throw(decode_fsmap(b + "x", part), WireError);
  std::string huge = b;
  uint64_t n = uint64_t(1) << 60;
  size_t at = 1 + 8 + 4 + 8;  // status, type "ext4", empty message: the node count
  memcpy(&huge[at], &n, 8);
  cr_assert_throw(decode_fsmap(huge, part), WireError);
  PartitionTable t;
  t.scheme = "mbr";
  Partition p = part;
  p.length = 8 << 20;
  t.partitions.push_back(p);
  cr_assert_throw(decode_table(encode_table(t), 4 << 20), WireError, "a partition beyond the disk accepted");
}
