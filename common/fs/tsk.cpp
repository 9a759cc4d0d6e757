// FAT, exFAT, NTFS, HFS+ and ISO9660 through The Sleuth Kit (4.11), reading
// the disk through tsk_img_open_external with a callback over the Source.
// Files come from one recursive directory walk; each file's blocks are the
// runs of its non-resident attributes (resident NTFS data lives in its MFT
// record, which belongs to the $MFT area).  Filesystem-internal files ($MFT,
// $FAT1, HFS+ catalog...) are named metadata areas, not files.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <tsk/libtsk.h>
#include <unordered_map>

#include "backend.h"
#include "endian.h"
#include "error.h"
#include "source.h"

namespace hexz::fs {

namespace {

struct Img {
  TSK_IMG_INFO info;  // first member: TSK casts between the two
  Source *disk;
  std::string *io_error;  // the first failed read (TSK may skip what it cannot read)
};

ssize_t img_read(TSK_IMG_INFO *info, TSK_OFF_T off, char *buf, size_t len) {
  auto *img = reinterpret_cast<Img *>(info);
  uint64_t size = img->disk->size();
  if (off < 0 || uint64_t(off) >= size) return 0;
  if (len > size - uint64_t(off)) len = size_t(size - uint64_t(off));
  try {
    img->disk->pread(buf, len, uint64_t(off));
  } catch (const std::exception &e) {
    if (img->io_error->empty()) *img->io_error = e.what();
    tsk_error_reset();
    tsk_error_set_errno(TSK_ERR_IMG_READ);
    tsk_error_set_errstr("%s", e.what());
    return -1;
  }
  return ssize_t(len);
}
void img_close(TSK_IMG_INFO *) {}  // the Img is freed by its owner
void img_stat(TSK_IMG_INFO *, FILE *) {}

std::string tsk_message() {
  const char *m = tsk_error_get();
  std::string s = m && *m ? m : "unknown error";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

char type_letter(TSK_FS_META_TYPE_ENUM t) {
  switch (t) {
    case TSK_FS_META_TYPE_REG: return '-';
    case TSK_FS_META_TYPE_DIR: return 'd';
    case TSK_FS_META_TYPE_LNK: return 'l';
    case TSK_FS_META_TYPE_CHR: return 'c';
    case TSK_FS_META_TYPE_BLK: return 'b';
    case TSK_FS_META_TYPE_FIFO: return 'p';
    case TSK_FS_META_TYPE_SOCK: return 's';
    default: return 'u';
  }
}

class TskMapper {
 public:
  TskMapper(TSK_FS_INFO *fs, FsMap &out) : fs_(fs), out_(out) {}

  void run() {
    // The Sleuth Kit numbers its virtual orphan directory last_inum.  When
    // it loaded no file at all (an ISO 9660 whose path table is empty, or
    // whose directories' "." records have length 0), the root gets that
    // number too: opening the root is then opening the orphan directory,
    // whose search walks the root again and waits on the lock it holds
    // (tsk_fs_dir_find_orphans, sleuthkit#928), forever and without CPU.
    if (TSK_FS_ORPHANDIR_INUM(fs_) == fs_->root_inum)
      throw Error("The Sleuth Kit found no file or directory record it can use (its root would be its orphan "
                  "directory, on which it deadlocks, sleuthkit#928)", EIO);
    if (TSK_FS_FILE *root = tsk_fs_file_open_meta(fs_, nullptr, fs_->root_inum)) {
      add_file(root, "/", false);
      tsk_fs_file_close(root);
    }
    auto flags = TSK_FS_DIR_WALK_FLAG_ENUM(TSK_FS_DIR_WALK_FLAG_ALLOC | TSK_FS_DIR_WALK_FLAG_RECURSE |
                                           TSK_FS_DIR_WALK_FLAG_NOORPHAN);
    if (tsk_fs_dir_walk(fs_, fs_->root_inum, flags, walk_cb, this) != 0)
      throw Error("directory walk failed: " + tsk_message(), EIO);
  }

 private:
  static TSK_WALK_RET_ENUM walk_cb(TSK_FS_FILE *f, const char *path, void *p) {
    auto *self = static_cast<TskMapper *>(p);
    if (!f->name || !f->name->name || TSK_FS_ISDOT(f->name->name)) return TSK_WALK_CONT;
    std::string full = "/" + std::string(path ? path : "") + f->name->name;
    self->add_file(f, full, true);
    return TSK_WALK_CONT;
  }

  // Whether F is one of the filesystem's own structures.
  bool is_internal(TSK_FS_FILE *f, const std::string &path) const {
    if (!f->meta) return false;
    if (f->meta->type == TSK_FS_META_TYPE_VIRT || f->meta->type == TSK_FS_META_TYPE_VIRT_DIR) return true;
    if (TSK_FS_TYPE_ISNTFS(fs_->ftype))
      return (f->meta->addr < 16 && f->meta->addr != fs_->root_inum) || path.rfind("/$Extend/", 0) == 0;
    if (TSK_FS_TYPE_ISHFS(fs_->ftype))
      return f->meta->addr < 16 && f->meta->addr != fs_->root_inum && path.rfind("/$", 0) == 0;
    return false;
  }

  void add_file(TSK_FS_FILE *f, const std::string &path, bool named) {
    if (!f->meta) return;
    TSK_INUM_T addr = f->meta->addr;
    if (auto it = seen_.find(addr); it != seen_.end()) {
      if (!(it->second & AREA) && named) out_.nodes[it->second].paths.push_back(path);
      return;
    }
    uint32_t owner;
    if (is_internal(f, path)) {
      out_.areas.push_back(path.substr(1));
      owner = uint32_t(out_.areas.size() - 1) | AREA;
    } else {
      Node n;
      n.inode = addr;
      n.type = type_letter(f->meta->type);
      n.mode = uint32_t(f->meta->mode) & 07777;
      n.size = f->meta->size > 0 ? uint64_t(f->meta->size) : 0;
      n.nlink = f->meta->nlink > 0 ? uint32_t(f->meta->nlink) : 0;
      n.uid = uint32_t(f->meta->uid);
      n.gid = uint32_t(f->meta->gid);
      n.mtime = f->meta->mtime;
      n.ctime = f->meta->ctime;
      if (f->meta->link) n.link = f->meta->link;
      n.paths.push_back(path);
      owner = uint32_t(out_.nodes.size());
      out_.nodes.push_back(std::move(n));
    }
    seen_[addr] = owner;
    int na = tsk_fs_file_attr_getsize(f);
    for (int i = 0; i < na; i++) {
      const TSK_FS_ATTR *a = tsk_fs_file_attr_get_idx(f, i);
      if (!a || !(a->flags & TSK_FS_ATTR_NONRES)) continue;
      for (TSK_FS_ATTR_RUN *r = a->nrd.run; r; r = r->next) {
        if (r->len == 0 || (r->flags & (TSK_FS_ATTR_RUN_FLAG_FILLER | TSK_FS_ATTR_RUN_FLAG_SPARSE))) continue;
        add_extent(out_.extents, out_.part.start + uint64_t(r->addr) * fs_->block_size,
                   uint64_t(r->len) * fs_->block_size, owner);
      }
    }
  }

  TSK_FS_INFO *fs_;
  FsMap &out_;
  std::unordered_map<TSK_INUM_T, uint32_t> seen_;
};

// FAT's reserved sectors (boot sector, FSInfo, backup boot sector) are not
// a TSK virtual file; name them from the BPB.
void add_fat_reserved(Source &disk, FsMap &out) {
  unsigned char b[512];
  disk.pread(b, sizeof b, out.part.start);
  uint64_t bps = load_le16(b + 11), reserved = load_le16(b + 14);
  if (out.type == "exfat") {
    bps = uint64_t(1) << b[108];
    reserved = load_le32(b + 80);  // FAT offset: boot regions precede it
  }
  out.areas.push_back(out.type == "exfat" ? "boot region" : "reserved sectors");
  add_extent(out.extents, out.part.start, bps * reserved, uint32_t(out.areas.size() - 1) | AREA);
}

// ISO 9660's system area, volume descriptors and path tables belong to no
// file in TSK's view; name them from the primary volume descriptor
// (ECMA-119 8.4), reading descriptors from sector 16 to the terminator.
void add_iso_structures(Source &disk, FsMap &out) {
  constexpr uint64_t SECTOR = 2048, FIRST = 16, MAX_DESCRIPTORS = 64;
  unsigned char d[SECTOR];
  uint64_t n = 0, table_size = 0, block = SECTOR;
  uint32_t tables[4] = {};
  while (n < MAX_DESCRIPTORS && (FIRST + n + 1) * SECTOR <= out.part.length) {
    disk.pread(d, SECTOR, out.part.start + (FIRST + n) * SECTOR);
    if (std::memcmp(d + 1, "CD001", 5) != 0) break;
    n++;
    if (d[0] == 255) break;  // set terminator
    if (d[0] == 1) {         // primary volume descriptor
      block = load_le16(d + 128);
      table_size = load_le32(d + 132);
      tables[0] = load_le32(d + 140);
      tables[1] = load_le32(d + 144);
      tables[2] = load_be32(d + 148);
      tables[3] = load_be32(d + 152);
    }
  }
  out.areas.push_back("system area and volume descriptors");
  add_extent(out.extents, out.part.start, (FIRST + n) * SECTOR, uint32_t(out.areas.size() - 1) | AREA);
  if (table_size == 0 || block < 512 || block > SECTOR) return;
  out.areas.push_back("path tables");
  const uint32_t owner = uint32_t(out.areas.size() - 1) | AREA;
  for (uint32_t t : tables) {
    uint64_t off = uint64_t(t) * block;
    if (t != 0 && off < out.part.length) add_extent(out.extents, out.part.start + off,
                                                    std::min<uint64_t>(table_size, out.part.length - off), owner);
  }
}

}  // namespace

void map_tsk(Source &disk, FsMap &out) {
  auto *img = static_cast<Img *>(calloc(1, sizeof(Img)));
  if (!img) throw std::bad_alloc();
  img->info.tag = TSK_IMG_INFO_TAG;
  img->disk = &disk;
  std::string io_error;
  img->io_error = &io_error;
  TSK_IMG_INFO *info =
      tsk_img_open_external(img, TSK_OFF_T(disk.size()), 512, img_read, img_close, img_stat);
  if (!info) {
    free(img);
    out.status = FsStatus::DAMAGED;
    out.message = "The Sleuth Kit cannot open the disk: " + tsk_message();
    return;
  }
  // The type we probed, never TSK_FS_TYPE_DETECT: Debian's libtsk then also
  // tries libext2fs with the image's file name, which an external image has
  // not got.
  TSK_FS_TYPE_ENUM type = out.type == "vfat"      ? TSK_FS_TYPE_FAT_DETECT
                          : out.type == "exfat"   ? TSK_FS_TYPE_EXFAT
                          : out.type == "ntfs"    ? TSK_FS_TYPE_NTFS
                          : out.type == "hfsplus" ? TSK_FS_TYPE_HFS_DETECT
                                                  : TSK_FS_TYPE_ISO9660;
  TSK_FS_INFO *fs = tsk_fs_open_img(info, TSK_OFF_T(out.part.start), type);
  if (!fs) {
    out.status = FsStatus::DAMAGED;
    out.message = "cannot open the " + out.type + " filesystem: " + tsk_message();
  } else {
    try {
      if (out.type == "vfat" || out.type == "exfat") add_fat_reserved(disk, out);
      if (out.type == "iso9660") add_iso_structures(disk, out);
      TskMapper(fs, out).run();
      if (!io_error.empty()) throw std::runtime_error("cannot read the disk: " + io_error);
      out.status = FsStatus::OK;
    } catch (const std::exception &e) {
      out.status = FsStatus::DAMAGED;
      out.message = out.type + ": " + e.what();
    }
    tsk_fs_close(fs);
  }
  tsk_img_close(info);
  free(img);
}

}  // namespace hexz::fs
