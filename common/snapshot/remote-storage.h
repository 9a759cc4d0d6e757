// Storage for a snapshot behind a URL (http://, https://, s3://): the
// snapshot reader's reads become range requests (remote-http.h), optionally
// through the persistent cache (remote-cache.h).
//
// What makes remote reading cheap:
// - the first 4 KiB, fetched when the object is opened, answer the header
//   read without another request;
// - with a cache-dir, every range read is kept there under the snapshot's
//   UUID (read from that header), so a second process, or a second URL of
//   the same snapshot, fetches it no more;
// - prefetch() takes the stored ranges one client request needs (the reader
//   knows them from the index), fetches the missing ones with as few range
//   requests as possible (adjacent ranges in one), and keeps them until the
//   reader reads them, range by range, right after.
#pragma once
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "remote-cache.h"
#include "remote-http.h"
#include "storage.h"

namespace hexz {

class RemoteStorage : public Storage {
 public:
  // Opens URL with one range request.  CACHE may be null (no cache-dir).
  RemoteStorage(const std::string &url, const RemoteOptions &opts, std::shared_ptr<DiskCache> cache);

  void read(void *buf, size_t len, uint64_t off) override;
  uint64_t size() const override { return http_->size(); }
  std::string name() const override { return http_->url(); }
  // REL resolved against this URL (a thin snapshot's parent), with the same
  // options and cache.
  std::unique_ptr<Storage> open_relative(const std::string &rel) const override;

  struct Range {
    uint64_t off;
    uint32_t len;
  };
  // Fetches the ranges that neither the cache-dir nor an earlier prefetch
  // holds, coalescing adjacent ones into one request (up to MAX_COALESCE
  // bytes), and keeps them for the next read() of exactly each range.
  void prefetch(std::vector<Range> ranges) const;
  static constexpr uint64_t MAX_COALESCE = 16u << 20;

  const HttpObject &http() const { return *http_; }
  void drop_connections() const { http_->drop_connections(); }

 private:
  // Ranges fetched ahead, until read once (or pushed out: at most
  // STAGE_LIMIT bytes, oldest first).
  bool take_staged(void *buf, size_t len, uint64_t off) const;
  void stage(uint64_t off, const unsigned char *data, uint32_t len) const;
  static constexpr uint64_t STAGE_LIMIT = 256u << 20;

  RemoteOptions opts_;
  std::shared_ptr<HttpObject> http_;
  std::string url_;  // as given (with any credentials: never printed)
  std::shared_ptr<DiskCache> cache_;
  std::optional<Uuid> uuid_;  // set at open if the first bytes are a valid header

  mutable std::mutex stage_mu_;
  mutable std::map<std::pair<uint64_t, uint32_t>, std::vector<unsigned char>> staged_;
  mutable std::list<std::pair<uint64_t, uint32_t>> stage_order_;
  mutable uint64_t staged_bytes_ = 0;
};

// Opens LOCATION as Storage: a URL through RemoteStorage with
// default_remote_options() (and its cache-dir), anything else as a
// FileStorage.  Snapshot::open(path) and FileStorage::open_relative (a local
// thin snapshot whose parent is a URL) go through it.
std::unique_ptr<Storage> open_storage(const std::string &location);

// The one DiskCache of this process for OPTS.cache_dir (null if none), so that
// every snapshot of a chain, and every chain, shares its accounting.
std::shared_ptr<DiskCache> shared_disk_cache(const RemoteOptions &opts);

}  // namespace hexz
