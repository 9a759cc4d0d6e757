// An object on an HTTP(S) server or in S3, read by byte ranges with libcurl.
//
// Opening costs one range request (the first bytes, which the reader needs
// anyway), which fixes the object's size and identity: its ETag (sent back as
// If-Match and compared on every response) or else its Last-Modified.  A
// replaced object therefore fails every later request with a clear error
// instead of mixing two versions.
//
// Requests can be made from many threads at once: each takes an easy handle
// from a pool (each keeps its connection alive, so connections are reused),
// and the handles share DNS and TLS sessions through one share handle.
// Transient failures (timeouts, dropped connections, HTTP 408/429/5xx) are
// retried with exponential backoff, RemoteOptions::retries times; then the
// request fails with Error(EIO) naming the URL, the range and the last status.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "remote-credentials.h"
#include "remote-options.h"

typedef void CURL;
struct curl_slist;

namespace hexz {

// Where the remote layer's debug messages go (the plugin sends them to
// nbdkit_debug); none by default.  Messages never contain credentials.
void set_remote_logger(std::function<void(const std::string &)> fn);
void remote_log(const std::string &msg);

class HttpObject {
 public:
  // URL is http://, https:// or s3://.  Throws Error naming the URL when the
  // object cannot be reached, does not exist (ENOENT), is refused (EACCES),
  // or the server does not serve byte ranges.
  HttpObject(const std::string &url, const RemoteOptions &opts);
  ~HttpObject();
  HttpObject(const HttpObject &) = delete;
  HttpObject &operator=(const HttpObject &) = delete;

  const std::string &url() const { return url_; }
  const RemoteOptions &options() const { return opts_; }
  uint64_t size() const { return size_; }
  // The bytes the opening request fetched: [0, min(size, PROBE_SIZE)).
  static constexpr size_t PROBE_SIZE = 4096;
  const std::vector<unsigned char> &probe() const { return probe_; }

  // Reads [OFF, OFF + LEN) (within the object) into BUF with one request.
  void get(uint64_t off, size_t len, void *buf);

  // Closes every kept-alive connection (after fork: the parent's sockets
  // must not be shared with the child).
  void drop_connections();

  uint64_t requests() const { return requests_; }
  uint64_t bytes_fetched() const { return bytes_; }

  struct Transfer;  // what one request collects (remote-http.cpp)

 private:
  enum class Outcome { OK, RETRY, FATAL };

  CURL *take();
  void give(CURL *h);
  Outcome attempt(CURL *h, Transfer &t, std::string &why, int &err);
  void fetch(uint64_t off, size_t len, unsigned char *buf, bool probe, size_t &got);

  std::string url_;       // as given, for messages (credentials redacted)
  std::string http_url_;  // what is fetched
  RemoteOptions opts_;
  AwsCredentials creds_;
  bool s3_ = false;
  std::string sigv4_;
  std::string userpwd_;

  void *share_ = nullptr;  // CURLSH
  std::mutex share_locks_[8];
  std::mutex pool_mu_;
  std::vector<CURL *> pool_;
  curl_slist *headers_ = nullptr;  // fixed once the identity is known

  uint64_t size_ = 0;
  std::string etag_, last_modified_;
  std::vector<unsigned char> probe_;

  std::atomic<uint64_t> requests_{0}, bytes_{0};

  friend struct HttpShareLock;
};

}  // namespace hexz
