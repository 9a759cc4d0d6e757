// ext2/3/4 through libext2fs, reading through a custom io_manager so that the
// filesystem can live in a partition of any Source (a libnbd handle to
// nbdkit, a raw file).  Exact: every block the filesystem uses is mapped,
// either to an inode (data, extent-tree, indirect and xattr blocks;
// directory blocks belong to their directory) or to a named metadata area.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include <memory>
#include <mutex>
#include <algorithm>
#include <sys/stat.h>
#include <type_traits>
#include <unordered_set>

#include "backend.h"
#include "ext.h"
#include "error.h"
#include "source.h"

namespace hexz::fs {

namespace {

// ---- io_manager over a ChunkCache, at a partition offset -------------------

struct Channel {
  ChunkCache *cache;
  uint64_t offset;  // partition start on the disk
  uint64_t length;  // partition length
  // The first read error: libext2fs skips some unreadable blocks (a
  // directory, an extent-tree node) without failing, so the mapper checks
  // this afterwards and marks the filesystem damaged.
  std::string io_error;
};

// libext2fs opens channels by name: the name carries the Channel's address.
errcode_t io_open(const char *name, int flags, io_channel *out);
errcode_t io_close(io_channel ch) {
  if (--ch->refcount > 0) return 0;
  free(ch->name);
  free(ch);
  return 0;
}
errcode_t io_set_blksize(io_channel ch, int blksize) {
  ch->block_size = blksize;
  return 0;
}
errcode_t io_read64(io_channel ch, unsigned long long block, int count, void *data) {
  auto *c = static_cast<Channel *>(ch->private_data);
  uint64_t len = count < 0 ? uint64_t(-count) : uint64_t(count) * uint64_t(ch->block_size);
  uint64_t off = block * uint64_t(ch->block_size);
  if (off + len > c->length) {
    // Beyond the partition: the filesystem claims more space than it has.
    memset(data, 0, len);
    return EXT2_ET_SHORT_READ;
  }
  try {
    c->cache->pread(data, len, c->offset + off);
  } catch (const std::exception &e) {
    if (c->io_error.empty()) c->io_error = e.what();
    return EXT2_ET_SHORT_READ;
  }
  return 0;
}
errcode_t io_read(io_channel ch, unsigned long block, int count, void *data) { return io_read64(ch, block, count, data); }
errcode_t io_write64(io_channel, unsigned long long, int, const void *) { return EXT2_ET_RO_FILSYS; }
errcode_t io_write(io_channel, unsigned long, int, const void *) { return EXT2_ET_RO_FILSYS; }
errcode_t io_write_byte(io_channel, unsigned long, int, const void *) { return EXT2_ET_RO_FILSYS; }
errcode_t io_flush(io_channel) { return 0; }
errcode_t io_set_option(io_channel, const char *, const char *) { return EXT2_ET_INVALID_ARGUMENT; }

struct struct_io_manager make_manager() {
  struct struct_io_manager m {};
  m.magic = EXT2_ET_MAGIC_IO_MANAGER;
  m.name = "hexz source I/O manager";
  m.open = io_open;
  m.close = io_close;
  m.set_blksize = io_set_blksize;
  m.read_blk = io_read;
  m.write_blk = io_write;
  m.flush = io_flush;
  m.write_byte = io_write_byte;
  m.set_option = io_set_option;
  m.read_blk64 = io_read64;
  m.write_blk64 = io_write64;
  return m;
}
struct struct_io_manager manager = make_manager();

errcode_t io_open(const char *name, int flags, io_channel *out) {
  if (flags & IO_FLAG_RW) return EXT2_ET_RO_FILSYS;
  void *p = nullptr;
  if (sscanf(name, "hexz:%p", &p) != 1 || !p) return EXT2_ET_BAD_DEVICE_NAME;
  auto *ch = static_cast<io_channel>(calloc(1, sizeof(struct struct_io_channel)));
  if (!ch) return EXT2_ET_NO_MEMORY;
  ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
  ch->manager = &manager;
  ch->name = strdup(name);
  ch->block_size = 1024;
  ch->refcount = 1;
  ch->private_data = p;
  *out = ch;
  return 0;
}

std::string ext_error(errcode_t e) { return error_message(e); }

char type_letter(uint16_t mode) {
  switch (mode & LINUX_S_IFMT) {
    case LINUX_S_IFREG: return '-';
    case LINUX_S_IFDIR: return 'd';
    case LINUX_S_IFLNK: return 'l';
    case LINUX_S_IFCHR: return 'c';
    case LINUX_S_IFBLK: return 'b';
    case LINUX_S_IFIFO: return 'p';
    case LINUX_S_IFSOCK: return 's';
    default: return 'u';
  }
}

// ---- the mapper --------------------------------------------------------------

class ExtMapper {
 public:
  ExtMapper(ExtFs &efs, FsMap &out) : efs_(efs), fs_(efs.get()), out_(out) {
    bs_ = fs_->blocksize;
    base_ = out.part.start;
  }

  void run() {
    map_groups();
    map_inodes();
    map_paths();
  }

 private:
  uint32_t area(const std::string &name) {
    out_.areas.push_back(name);
    return uint32_t(out_.areas.size() - 1) | AREA;
  }
  void add(uint64_t blk, uint64_t count, uint32_t owner) {
    if (!count) return;
    add_extent(out_.extents, base_ + blk * bs_, count * bs_, owner);
    if (in_dir_) dir_ranges_.push_back({blk * bs_, count * bs_});
  }

  // Superblocks, group descriptors, reserved GDT blocks, bitmaps and inode
  // tables of every group.
  void map_groups() {
    auto *sb = fs_->super;
    if (sb->s_first_data_block == 1) add_extent(out_.extents, base_, 1024, area("boot block"));
    bool meta_bg = ext2fs_has_feature_meta_bg(sb);
    for (dgrp_t g = 0; g < fs_->group_desc_count; g++) {
      std::string gs = " of group " + std::to_string(g);
      blk64_t super = 0, old_desc = 0, new_desc = 0;
      blk_t used = 0;
      ext2fs_super_and_bgd_loc2(fs_, g, &super, &old_desc, &new_desc, &used);
      if (super || g == 0) add(super, 1, area("superblock" + gs));
      if (old_desc) {
        uint64_t n = meta_bg ? sb->s_first_meta_bg : fs_->desc_blocks;
        if (n > fs_->desc_blocks) n = fs_->desc_blocks;
        add(old_desc, n, area("group descriptors" + gs));
        if (sb->s_reserved_gdt_blocks) add(old_desc + n, sb->s_reserved_gdt_blocks, area("reserved GDT blocks" + gs));
      }
      if (new_desc) add(new_desc, 1, area("group descriptors" + gs));
      add(ext2fs_block_bitmap_loc(fs_, g), 1, area("block bitmap" + gs));
      add(ext2fs_inode_bitmap_loc(fs_, g), 1, area("inode bitmap" + gs));
      add(ext2fs_inode_table_loc(fs_, g), fs_->inode_blocks_per_group, area("inode table" + gs));
    }
  }

  // Owner of the blocks of a special (reserved) inode.
  uint32_t special_owner(ext2_ino_t ino) {
    if (ino == fs_->super->s_journal_inum) return area("journal");
    switch (ino) {
      case EXT2_BAD_INO: return area("bad blocks inode");
      case EXT2_RESIZE_INO: return area("resize inode");
      case EXT4_USR_QUOTA_INO: return area("user quota");
      case EXT4_GRP_QUOTA_INO: return area("group quota");
      default: return area("reserved inode " + std::to_string(ino));
    }
  }

  void map_inodes() {
    ext2_inode_scan raw_scan;
    errcode_t e = ext2fs_open_inode_scan(fs_, 256, &raw_scan);
    if (e) throw Error("cannot scan inodes: " + ext_error(e));
    // Closed on every way out, also when a check below throws.
    std::unique_ptr<std::remove_pointer_t<ext2_inode_scan>, decltype(&ext2fs_close_inode_scan)> scan_owner(
        raw_scan, &ext2fs_close_inode_scan);
    ext2_inode_scan scan = raw_scan;
    ext2fs_inode_scan_flags(scan, EXT2_SF_SKIP_MISSING_ITABLE | EXT2_SF_DO_LAZY, 0);
    // Sizes come from what the partition can hold, not from what the
    // superblock claims: every inode has EXT2_INODE_SIZE bytes of inode
    // table inside the filesystem.
    uint64_t count = fs_->super->s_inodes_count, free = fs_->super->s_free_inodes_count;
    uint64_t room = out_.part.length / uint64_t(EXT2_INODE_SIZE(fs_->super));
    if (count > room)
      throw Error("the superblock claims " + std::to_string(count) + " inodes, more than the " +
                  std::to_string(out_.part.length) + "-byte partition can hold (" + std::to_string(room) + ")");
    if (free > count)
      throw Error("the superblock claims " + std::to_string(free) + " free inodes of " + std::to_string(count));
    node_of_.assign(size_t(count) + 1, -1);
    out_.nodes.reserve(size_t(count - free));
    int isize = EXT2_INODE_SIZE(fs_->super);
    std::vector<unsigned char> buf(size_t(isize) < sizeof(ext2_inode_large) ? sizeof(ext2_inode_large) : isize);
    auto *inode = reinterpret_cast<struct ext2_inode *>(buf.data());
    ext2_ino_t first_ino = EXT2_FIRST_INODE(fs_->super);
    for (;;) {
      ext2_ino_t ino = 0;
      e = ext2fs_get_next_inode_full(scan, &ino, inode, isize);
      if (e == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE || e == EXT2_ET_INODE_CSUM_INVALID ||
          e == EXT2_ET_INODE_IS_GARBAGE)
        continue;
      if (e) throw Error("inode scan failed: " + ext_error(e));
      if (ino == 0) break;
      if (ino > fs_->super->s_inodes_count) continue;
      bool special = ino < first_ino && ino != EXT2_ROOT_INO;
      if (inode->i_links_count == 0 && !(special && ino != EXT2_BAD_INO)) continue;
      if (inode->i_dtime && !special) continue;
      if (special && !ext2fs_inode_has_valid_blocks2(fs_, inode) && !ext2fs_file_acl_block(fs_, inode)) continue;
      uint32_t owner;
      if (special) {
        owner = special_owner(ino);
      } else {
        Node n;
        n.inode = ino;
        n.type = type_letter(inode->i_mode);
        n.mode = inode->i_mode & 07777;
        n.size = EXT2_I_SIZE(inode);
        n.nlink = inode->i_links_count;
        n.uid = inode_uid(*inode);
        n.gid = inode_gid(*inode);
        n.mtime = int32_t(inode->i_mtime);
        n.ctime = int32_t(inode->i_ctime);
        owner = uint32_t(out_.nodes.size());
        node_of_[ino] = int32_t(owner);
        out_.nodes.push_back(std::move(n));
      }
      in_dir_ = !special && LINUX_S_ISDIR(inode->i_mode);
      size_t before = dir_ranges_.size();
      map_blocks(ino, inode, owner);
      if (in_dir_) dir_first_.push_back({dir_ranges_.size() > before ? dir_ranges_[before].first : 0, ino});
      in_dir_ = false;
      if (!special && LINUX_S_ISLNK(inode->i_mode)) out_.nodes[owner].link = read_link(ino, inode);
    }
  }

  void map_blocks(ext2_ino_t ino, struct ext2_inode *inode, uint32_t owner) {
    if (blk64_t acl = ext2fs_file_acl_block(fs_, inode); acl && seen_acl_.insert(acl).second) add(acl, 1, owner);
    if (!ext2fs_inode_has_valid_blocks2(fs_, inode) || (inode->i_flags & EXT4_INLINE_DATA_FL)) return;
    if (inode->i_flags & EXT4_EXTENTS_FL) {
      ext2_extent_handle_t h;
      if (ext2fs_extent_open2(fs_, ino, inode, &h)) return;  // damaged tree: its blocks stay unowned
      struct ext2fs_extent ex;
      errcode_t e = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ex);
      while (!e) {
        if (!(ex.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT)) {
          if (ex.e_flags & EXT2_EXTENT_FLAGS_LEAF)
            add(ex.e_pblk, ex.e_len, owner);
          else
            add(ex.e_pblk, 1, owner);  // the child node: an extent-tree block
        }
        e = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ex);
      }
      ext2fs_extent_free(h);
      return;
    }
    // Block-mapped (ext2/3): data and indirect blocks.
    struct Ctx {
      ExtMapper *self;
      uint32_t owner;
    } ctx{this, owner};
    auto cb = [](ext2_filsys, blk64_t *blocknr, e2_blkcnt_t, blk64_t, int, void *p) -> int {
      auto *c = static_cast<Ctx *>(p);
      c->self->add(*blocknr, 1, c->owner);
      return 0;
    };
    ext2fs_block_iterate3(fs_, ino, BLOCK_FLAG_READ_ONLY, nullptr, cb, &ctx);
  }

  std::string read_link(ext2_ino_t ino, struct ext2_inode *inode) {
    size_t size = EXT2_I_SIZE(inode);
    if (size == 0 || size > 65536) return "";
    if (inode->i_flags & EXT4_INLINE_DATA_FL) {
      std::vector<char> b(size + 64);
      size_t n = b.size();
      if (ext2fs_inline_data_get(fs_, ino, inode, b.data(), &n)) return "";
      return std::string(b.data(), std::min(n, size));
    }
    if (ext2fs_is_fast_symlink(inode)) {
      auto *p = reinterpret_cast<const char *>(inode->i_block);
      return std::string(p, strnlen(p, std::min<size_t>(size, sizeof inode->i_block)));
    }
    blk64_t pblk = 0;
    if (ext2fs_bmap2(fs_, ino, inode, nullptr, 0, 0, nullptr, &pblk) || !pblk) return "";
    std::vector<char> b(bs_);
    if (io_channel_read_blk64(fs_->io, pblk, 1, b.data())) return "";
    return std::string(b.data(), strnlen(b.data(), std::min<size_t>(size, bs_)));
  }

  // Paths.  Directories are read in the order of their blocks on the disk
  // (with read-ahead), not in tree order, which would seek all over the
  // disk; the entries are then linked into paths from the root.
  void map_paths() {
    if (node_of_.size() <= EXT2_ROOT_INO || node_of_[EXT2_ROOT_INO] < 0) return;
    efs_.plan_reads(dir_ranges_);
    std::vector<std::pair<uint64_t, ext2_ino_t>> order = dir_first_;
    std::sort(order.begin(), order.end());

    struct Entry {
      uint32_t child;
      std::string name;
    };
    std::unordered_map<ext2_ino_t, std::vector<Entry>> entries;
    struct Ctx {
      ExtMapper *self;
      std::vector<Entry> *out;
    };
    auto cb = [](ext2_ino_t, int entry, struct ext2_dir_entry *d, int, int, char *, void *p) -> int {
      if (entry == DIRENT_DOT_FILE || entry == DIRENT_DOT_DOT_FILE || d->inode == 0) return 0;
      auto *c = static_cast<Ctx *>(p);
      auto &node_of = c->self->node_of_;
      if (d->inode >= node_of.size() || node_of[d->inode] < 0) return 0;  // names a free inode
      c->out->push_back({uint32_t(node_of[d->inode]), std::string(d->name, size_t(ext2fs_dirent_name_len(d)))});
      return 0;
    };
    for (auto &[first, dir] : order) {
      Ctx ctx{this, &entries[dir]};
      ext2fs_dir_iterate2(fs_, dir, 0, nullptr, cb, &ctx);
    }

    auto &nodes = out_.nodes;
    uint32_t root = uint32_t(node_of_[EXT2_ROOT_INO]);
    nodes[root].paths.push_back("/");
    std::vector<std::pair<ext2_ino_t, std::string>> queue = {{EXT2_ROOT_INO, ""}};
    std::unordered_set<uint32_t> visited = {root};
    for (size_t q = 0; q < queue.size(); q++) {
      auto it = entries.find(queue[q].first);
      if (it == entries.end()) continue;
      std::string prefix = queue[q].second;
      for (auto &e : it->second) {
        std::string path = prefix + "/" + e.name;
        Node &n = nodes[e.child];
        if (n.type == 'd' && visited.insert(e.child).second) queue.push_back({ext2_ino_t(n.inode), path});
        n.paths.push_back(std::move(path));
      }
      entries.erase(it);
    }
  }

  ExtFs &efs_;
  ext2_filsys fs_;
  FsMap &out_;
  uint64_t bs_ = 0, base_ = 0;
  std::vector<int32_t> node_of_;
  std::unordered_set<blk64_t> seen_acl_;
  bool in_dir_ = false;
  std::vector<std::pair<uint64_t, uint64_t>> dir_ranges_;         // partition bytes of directory blocks
  std::vector<std::pair<uint64_t, ext2_ino_t>> dir_first_;        // (first directory byte, inode)
};

}  // namespace

struct ExtFs::Impl {
  ChunkCache cache;
  Channel ch;
  Impl(Source &disk, uint64_t start, uint64_t length) : cache(disk), ch{&cache, start, length, {}} {}
};

ExtFs::ExtFs(Source &disk, uint64_t start, uint64_t length) : impl_(std::make_unique<Impl>(disk, start, length)) {
  static std::once_flag once;
  std::call_once(once, [] { initialize_ext2_error_table(); });
  char name[64];
  snprintf(name, sizeof name, "hexz:%p", static_cast<void *>(&impl_->ch));
  errcode_t e = ext2fs_open2(name, nullptr, EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS | EXT2_FLAG_SKIP_MMP, 0,
                             0, &manager, &fs_);
  if (e) {
    fs_ = nullptr;
    throw Error("cannot open the ext2/3/4 filesystem: " + ext_error(e), EIO);
  }
}

const std::string &ExtFs::io_error() const { return impl_->ch.io_error; }

void ExtFs::plan_reads(const std::vector<std::pair<uint64_t, uint64_t>> &ranges) {
  std::vector<std::pair<uint64_t, uint64_t>> disk;
  disk.reserve(ranges.size());
  for (auto &[off, len] : ranges) disk.push_back({impl_->ch.offset + off, len});
  impl_->cache.plan(std::move(disk));
}

ExtFs::~ExtFs() {
  if (fs_) ext2fs_close_free(&fs_);
}

void map_ext(Source &disk, FsMap &out) {
  std::unique_ptr<ExtFs> fs;
  try {
    fs = std::make_unique<ExtFs>(disk, out.part.start, out.part.length);
  } catch (const Error &e) {
    out.status = FsStatus::DAMAGED;
    std::string m = e.what();
    out.message = "cannot open the " + out.type + " filesystem: " + m.substr(m.find(": ") + 2);
    return;
  }
  try {
    ext2_filsys f = fs->get();
    uint64_t claimed = ext2fs_blocks_count(f->super) * uint64_t(f->blocksize);
    if (claimed / f->blocksize != ext2fs_blocks_count(f->super) || claimed > out.part.length)
      throw Error("the superblock claims " + std::to_string(ext2fs_blocks_count(f->super)) + " blocks of " +
                  std::to_string(f->blocksize) + " bytes, more than the " + std::to_string(out.part.length) +
                  "-byte partition");
    ExtMapper(*fs, out).run();
    if (!fs->io_error().empty()) throw Error("cannot read the disk: " + fs->io_error());
    out.status = FsStatus::OK;
  } catch (const std::exception &ex) {
    out.status = FsStatus::DAMAGED;
    out.message = out.type + ": " + ex.what();
  }
}

}  // namespace hexz::fs
