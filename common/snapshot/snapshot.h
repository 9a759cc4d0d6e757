// Reading .st snapshots.  A Snapshot is immutable once opened and safe to
// read from many threads at once.  Every byte it reads comes through its
// Storage (storage.h): a local file, or a remote object.
//
// Opening reads the header and then the section area (stream page tables,
// parent reference, metadata) in one read: two reads at known offsets, a
// number of bytes that follows the page count, not the block count.  It
// validates the header, every section checksum and every page table entry
// (pages inside the data area, no two pages overlapping), and opens the
// parent chain (checking each parent's UUID, the depth limit and cycles).
//
// Index pages are read when a request first needs them, checked (checksum,
// decoding, every entry) and kept in a bounded cache shared by all threads.
// A damaged page is an Error(EIO) naming the file, stream and page for the
// requests that need it; the rest of the stream keeps serving.
#pragma once
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "format.h"
#include "page-cache.h"
#include "storage.h"

namespace hexz {

class Snapshot {
 public:
  // Decoded index pages kept per snapshot file: 16 MiB holds 42 pages of
  // 16384 entries, the index of 42 GiB of dense disk at 64 KiB blocks.
  static constexpr uint64_t PAGE_CACHE_BYTES = 16ull << 20;

  // Whether a thin snapshot opens without its parent.  REQUIRED (serving,
  // comparing, committing): a parent that cannot be opened, or carries
  // another UUID, is an Error.  OPTIONAL (describing or re-pointing the file:
  // hexz-info, hexz-rebase): the snapshot opens anyway, parent() is null,
  // parent_error() says why, and reading a PARENT block is an Error naming
  // it.  Only the snapshot itself is optional: its parent, if it opens, needs
  // its whole chain.
  enum class Parent { REQUIRED, OPTIONAL };

  // Throws Error naming PATH (or the parent at fault) on any problem.
  static std::shared_ptr<const Snapshot> open(const std::string &path, Parent policy = Parent::REQUIRED);
  // The same over any storage; a thin snapshot's parent is opened with
  // STORAGE->open_relative(the parent reference's path).
  static std::shared_ptr<const Snapshot> open(std::unique_ptr<Storage> storage, Parent policy = Parent::REQUIRED);

  const std::string &path() const { return path_; }
  const Header &header() const { return header_; }
  const Uuid &uuid() const { return header_.uuid; }
  uint32_t block_size() const { return header_.block_size; }
  uint64_t file_size() const { return header_.file_size; }
  const Metadata &metadata() const { return metadata_; }
  const std::optional<ParentRef> &parent_ref() const { return parent_ref_; }
  // Where the bytes come from (the remote layer prefetches through it).
  Storage &storage() const { return *storage_; }
  // The opened parent, or null for a standalone snapshot.
  const std::shared_ptr<const Snapshot> &parent() const { return parent_; }
  // Name (path or URL) the parent was opened from: parent_ref's path
  // resolved against this snapshot's location.  Empty if standalone.
  std::string parent_path() const { return parent_ ? parent_->path() : std::string(); }
  // Opened with Parent::OPTIONAL: why a thin snapshot's parent is not
  // open ("" when it is, or for a standalone snapshot).
  const std::string &parent_error() const { return parent_error_; }

  bool has_stream(StreamId s) const { return streams_[unsigned(s)].present; }
  uint64_t stream_size(StreamId s) const { return streams_[unsigned(s)].hdr.logical_size; }
  uint64_t block_count(StreamId s) const { return streams_[unsigned(s)].hdr.block_count; }
  // Entry of block I, from its page (loaded into the page cache on a miss).
  // Throws Error(EIO) if the page holding it is damaged.
  IndexEntry entry(StreamId s, uint64_t i) const;

  // The page table: PAGE_COUNT pages of PAGE_ENTRIES entries (the last may
  // be short), page P covering blocks [P * page_entries, ...).
  uint64_t page_count(StreamId s) const { return streams_[unsigned(s)].hdr.page_count; }
  uint32_t page_entries(StreamId s) const { return uint32_t(1) << streams_[unsigned(s)].hdr.page_shift; }
  const PageRef &page_ref(StreamId s, uint64_t p) const { return streams_[unsigned(s)].table[p]; }
  uint32_t page_length(StreamId s, uint64_t p) const { return hexz::page_length(streams_[unsigned(s)].hdr, p); }
  // Reads, checks and decodes page P without going through the page cache
  // (for walks over every block, which would only evict the pages serving
  // requests).  ZERO and PARENT pages give entries of that kind without any
  // read.  Throws Error(EIO) naming the file, stream and page on damage.
  Page read_page(StreamId s, uint64_t p) const;

  // For a snapshot behind a URL: loads every stored index page of both
  // streams into the page cache now, several requests in flight, if they are
  // few enough to stay there (at most PRELOAD_PAGE_BYTES stored, and none
  // pushed out of the page cache by another); otherwise, or for a local file, does nothing.  Each page
  // then costs no round trip of its own on the first request that needs it.
  // A page that cannot be fetched or is damaged is left out (the request
  // needing it fetches it again, and fails with the message).  Not for the
  // parents: call it on each snapshot of a chain.
  void preload_index() const;
  static constexpr uint64_t PRELOAD_PAGE_BYTES = 8ull << 20;

  // Reads the logical bytes of block I of stream S into BUF (at least
  // block_size() bytes), following PARENT entries through the chain and
  // verifying the checksum of every decoded block.  Throws Error(EIO) naming
  // the file, stream and block (or index page) on damage.
  void read_block(StreamId s, uint64_t i, void *buf) const;
  // The same with E, block I's entry as entry(S, I) gave it: a caller that
  // has looked at the entry already saves a second lookup.
  void read_block(StreamId s, uint64_t i, const IndexEntry &e, void *buf) const;
  // Reads N bytes at OFF of block I (entry E, as above) into OUT.
  void read_part(StreamId s, uint64_t i, const IndexEntry &e, uint32_t off, size_t n, void *out) const;

  // Reads any byte range of stream S (bytes beyond the stream read as zero).
  void read(StreamId s, uint64_t offset, size_t len, void *buf) const;

  // Calls FN(offset, length, zero) for consecutive runs covering
  // [offset, offset + len) of stream S, with zero = true where the bytes are
  // known to read as zero without decoding (ZERO blocks and pages, parent
  // ranges that are zero, ranges beyond the stream).  Adjacent runs of the
  // same kind are merged; ZERO and PARENT pages are answered without
  // reading anything.
  void extents(StreamId s, uint64_t offset, uint64_t len,
               const std::function<void(uint64_t, uint64_t, bool)> &fn) const;

 private:
  Snapshot() : pages_(PAGE_CACHE_BYTES) {}
  static std::shared_ptr<const Snapshot> open_chain(std::unique_ptr<Storage> storage, unsigned depth,
                                                    std::vector<Uuid> &seen, Parent policy);
  // Opens S's parent chain into S.parent_ and checks the parent's UUID.
  static void open_parent_of(Snapshot &s, unsigned depth, std::vector<Uuid> &seen);
  // The parent, for reading a PARENT block; Error(EIO) if it is not open.
  const Snapshot &open_parent() const;
  void extents_raw(StreamId s, uint64_t offset, uint64_t len,
                   const std::function<void(uint64_t, uint64_t, bool)> &fn) const;
  void parse_stream(const std::string &bytes);
  void check_pages_disjoint() const;
  // Page P of stream S through the page cache.  Single-flight: threads that
  // miss on a page being read wait for that read instead of fetching it too.
  std::shared_ptr<const Page> cached_page(StreamId s, uint64_t p) const;

  struct Stream {
    bool present = false;
    StreamHeader hdr;
    std::vector<PageRef> table;  // validated at open
  };

  std::string path_;  // storage_->name(), kept for messages
  std::unique_ptr<Storage> storage_;
  Header header_;
  Stream streams_[NUM_STREAMS];
  Metadata metadata_;
  std::optional<ParentRef> parent_ref_;
  std::shared_ptr<const Snapshot> parent_;
  std::string parent_error_;
  mutable PageCache pages_;
  mutable std::mutex loading_mu_;
  mutable std::map<uint64_t, std::shared_future<std::shared_ptr<const Page>>> loading_;
};

}  // namespace hexz
