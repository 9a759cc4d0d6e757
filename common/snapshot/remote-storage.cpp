#include "remote-storage.h"

#include <algorithm>
#include <cstring>

#include "error.h"
#include "format.h"
#include "remote-url.h"

namespace hexz {

RemoteStorage::RemoteStorage(const std::string &url, const RemoteOptions &opts, std::shared_ptr<DiskCache> cache)
    : opts_(opts), http_(std::make_shared<HttpObject>(url, opts)), url_(url), cache_(std::move(cache)) {
  // The cache is keyed by the snapshot's UUID: take it from the header the
  // opening request brought, once its checksum and fields are valid.  If
  // they are not, Snapshot::open fails on the same bytes anyway.
  const auto &probe = http_->probe();
  if (cache_ && probe.size() >= HEADER_SIZE) {
    try {
      uuid_ = decode_header(probe.data(), http_->size(), http_->url()).uuid;
    } catch (const Error &) {
    }
  }
}

std::unique_ptr<Storage> RemoteStorage::open_relative(const std::string &rel) const {
  return std::make_unique<RemoteStorage>(resolve_url(url_, rel), opts_, cache_);
}

bool RemoteStorage::take_staged(void *buf, size_t len, uint64_t off) const {
  std::lock_guard<std::mutex> g(stage_mu_);
  auto it = staged_.find({off, uint32_t(len)});
  if (it == staged_.end() || len > UINT32_MAX) return false;
  std::memcpy(buf, it->second.data(), len);
  staged_bytes_ -= len;
  stage_order_.remove(it->first);
  staged_.erase(it);
  return true;
}

void RemoteStorage::stage(uint64_t off, const unsigned char *data, uint32_t len) const {
  std::lock_guard<std::mutex> g(stage_mu_);
  auto key = std::make_pair(off, len);
  if (staged_.count(key)) return;
  staged_.emplace(key, std::vector<unsigned char>(data, data + len));
  stage_order_.push_back(key);
  staged_bytes_ += len;
  while (staged_bytes_ > STAGE_LIMIT && !stage_order_.empty()) {
    auto old = stage_order_.front();
    stage_order_.pop_front();
    staged_bytes_ -= old.second;
    staged_.erase(old);
  }
}

void RemoteStorage::read(void *buf, size_t len, uint64_t off) {
  const auto &probe = http_->probe();
  if (off <= probe.size() && len <= probe.size() - off) {
    std::memcpy(buf, probe.data() + off, len);
    return;
  }
  if (take_staged(buf, len, off)) return;
  bool cacheable = cache_ && uuid_ && len <= UINT32_MAX;
  if (cacheable && cache_->get(*uuid_, off, uint32_t(len), buf)) return;
  http_->get(off, len, buf);
  if (cacheable) cache_->put(*uuid_, off, uint32_t(len), buf);
}

void RemoteStorage::prefetch(std::vector<Range> ranges) const {
  std::sort(ranges.begin(), ranges.end(), [](const Range &a, const Range &b) { return a.off < b.off; });
  const auto &probe = http_->probe();
  std::vector<Range> missing;
  std::vector<unsigned char> tmp;
  for (size_t i = 0; i < ranges.size(); i++) {
    const Range &r = ranges[i];
    if (r.len == 0 || (i > 0 && r.off == ranges[i - 1].off && r.len == ranges[i - 1].len)) continue;
    if (r.off <= probe.size() && r.len <= probe.size() - r.off) continue;
    {
      std::lock_guard<std::mutex> g(stage_mu_);
      if (staged_.count({r.off, r.len})) continue;
    }
    if (cache_ && uuid_) {
      tmp.resize(r.len);
      if (cache_->get(*uuid_, r.off, r.len, tmp.data())) {
        stage(r.off, tmp.data(), r.len);
        continue;
      }
    }
    missing.push_back(r);
  }
  // Runs of back-to-back ranges become one request each.
  size_t i = 0;
  while (i < missing.size()) {
    size_t j = i + 1;
    uint64_t end = missing[i].off + missing[i].len;
    while (j < missing.size() && missing[j].off == end && end + missing[j].len - missing[i].off <= MAX_COALESCE) {
      end += missing[j].len;
      j++;
    }
    uint64_t start = missing[i].off;
    tmp.resize(size_t(end - start));
    http_->get(start, tmp.size(), tmp.data());
    for (size_t k = i; k < j; k++) {
      const unsigned char *p = tmp.data() + (missing[k].off - start);
      if (cache_ && uuid_) cache_->put(*uuid_, missing[k].off, missing[k].len, p);
      stage(missing[k].off, p, missing[k].len);
    }
    i = j;
  }
}

std::shared_ptr<DiskCache> shared_disk_cache(const RemoteOptions &opts) {
  if (opts.cache_dir.empty()) return nullptr;
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<DiskCache>> caches;
  std::lock_guard<std::mutex> g(mu);
  std::string dir = absolute_path(opts.cache_dir);
  if (auto c = caches[dir].lock()) return c;
  auto c = std::make_shared<DiskCache>(dir, opts.cache_dir_size);
  caches[dir] = c;
  return c;
}

std::unique_ptr<Storage> open_storage(const std::string &location) {
  if (!is_url(location)) return FileStorage::open(location);
  const RemoteOptions &o = default_remote_options();
  return std::make_unique<RemoteStorage>(location, o, shared_disk_cache(o));
}

}  // namespace hexz
