#include "remote-http.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <thread>

#include <curl/curl.h>

#include "error.h"
#include "remote-url.h"

namespace hexz {

namespace {

std::function<void(const std::string &)> &logger() {
  static std::function<void(const std::string &)> fn;
  return fn;
}

// libcurl must be initialised once, before any other call.
void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw Error("libcurl: cannot initialise", EIO);
  });
}

// SHA-256 of the empty body: the payload hash S3 wants for a GET.
constexpr const char *EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// Errors worth another attempt: the network, not the request, is at fault.
bool transient(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

bool header_is(const char *line, size_t n, const char *name) {
  size_t k = std::strlen(name);
  if (n <= k || line[k] != ':') return false;
  for (size_t i = 0; i < k; i++)
    if (std::tolower((unsigned char)line[i]) != name[i]) return false;
  return true;
}

std::string header_value(const char *line, size_t n, const char *name) {
  std::string v(line + std::strlen(name) + 1, n - std::strlen(name) - 1);
  size_t b = v.find_first_not_of(" \t");
  size_t e = v.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : v.substr(b, e - b + 1);
}

// "bytes FIRST-LAST/TOTAL"; false on anything else (including "*/TOTAL").
bool parse_content_range(const std::string &v, uint64_t &first, uint64_t &last, uint64_t &total) {
  unsigned long long a, b, t;
  char tail;
  if (std::sscanf(v.c_str(), "bytes %llu-%llu/%llu%c", &a, &b, &t, &tail) != 3) return false;
  if (a > b || b >= t) return false;
  first = a, last = b, total = t;
  return true;
}

// The <Code> of an S3 error document, or the start of any other error body.
std::string error_detail(const std::string &body) {
  size_t b = body.find("<Code>"), e = body.find("</Code>");
  if (b != std::string::npos && e != std::string::npos && e > b) return body.substr(b + 6, e - b - 6);
  return {};
}

}  // namespace

void set_remote_logger(std::function<void(const std::string &)> fn) { logger() = std::move(fn); }

void remote_log(const std::string &msg) {
  if (logger()) logger()(msg);
}

// What one request collects.
struct HttpObject::Transfer {
  unsigned char *buf = nullptr;
  size_t want = 0;  // bytes asked for
  size_t got = 0;
  bool overflow = false;
  long status = 0;
  std::string etag, last_modified, content_range;
  std::string error_body;  // first bytes of a non-2xx body
  char errbuf[CURL_ERROR_SIZE] = {0};
};

namespace {

size_t on_header(char *data, size_t size, size_t n, void *p) {
  auto *t = static_cast<HttpObject::Transfer *>(p);
  size_t len = size * n;
  if (len >= 5 && std::memcmp(data, "HTTP/", 5) == 0) {
    // A new response (after a redirect or "100 Continue"): forget the last.
    t->got = 0;
    t->overflow = false;
    t->etag.clear();
    t->last_modified.clear();
    t->content_range.clear();
    t->error_body.clear();
    const char *sp = static_cast<const char *>(std::memchr(data, ' ', len));
    t->status = sp ? std::strtol(sp + 1, nullptr, 10) : 0;
  } else if (header_is(data, len, "etag")) {
    t->etag = header_value(data, len, "etag");
  } else if (header_is(data, len, "last-modified")) {
    t->last_modified = header_value(data, len, "last-modified");
  } else if (header_is(data, len, "content-range")) {
    t->content_range = header_value(data, len, "content-range");
  }
  return len;
}

size_t on_body(char *data, size_t size, size_t n, void *p) {
  auto *t = static_cast<HttpObject::Transfer *>(p);
  size_t len = size * n;
  if (t->status < 200 || t->status > 299) {
    if (t->error_body.size() < 2048) t->error_body.append(data, std::min<size_t>(len, 2048 - t->error_body.size()));
    return len;
  }
  if (len > t->want - t->got) {
    t->overflow = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  std::memcpy(t->buf + t->got, data, len);
  t->got += len;
  return len;
}

}  // namespace

struct HttpShareLock {
  static void lock(CURL *, curl_lock_data d, curl_lock_access, void *p) {
    static_cast<HttpObject *>(p)->share_locks_[unsigned(d) % 8].lock();
  }
  static void unlock(CURL *, curl_lock_data d, void *p) {
    static_cast<HttpObject *>(p)->share_locks_[unsigned(d) % 8].unlock();
  }
};

HttpObject::HttpObject(const std::string &url, const RemoteOptions &opts) : url_(redact_url(url)), opts_(opts) {
  curl_init_once();
  if (url.rfind("s3://", 0) == 0 || url.rfind("S3://", 0) == 0) {
    s3_ = true;
    S3Location loc = parse_s3_url(url);
    creds_ = load_aws_credentials();
    for (char c : creds_.region)
      if (!std::islower((unsigned char)c) && !std::isdigit((unsigned char)c) && c != '-')
        throw Error(url_ + ": AWS region \"" + creds_.region + "\" is not a valid region name", EINVAL);
    http_url_ = s3_http_url(loc, opts_.s3_endpoint, creds_.region);
    if (!creds_.anonymous()) {
      sigv4_ = "aws:amz:" + creds_.region + ":s3";
      userpwd_ = creds_.access_key + ":" + creds_.secret_key;
    }
  } else {
    http_url_ = url;
  }

  CURLSH *sh = curl_share_init();
  if (!sh) throw Error(url_ + ": libcurl: cannot create a share handle", ENOMEM);
  share_ = sh;
  curl_share_setopt(sh, CURLSHOPT_LOCKFUNC, HttpShareLock::lock);
  curl_share_setopt(sh, CURLSHOPT_UNLOCKFUNC, HttpShareLock::unlock);
  curl_share_setopt(sh, CURLSHOPT_USERDATA, this);
  curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  // Not the connection cache: each pooled handle keeps its own kept-alive
  // connection.  Shared, libcurl serialized parallel requests enough that 16
  // of them through a 20 ms proxy took about 60 ms a round instead of 22.

  auto add = [&](const std::string &h) {
    curl_slist *l = curl_slist_append(headers_, h.c_str());
    if (!l) throw Error(url_ + ": out of memory", ENOMEM);
    headers_ = l;
  };
  try {
    if (!sigv4_.empty()) {
      add(std::string("x-amz-content-sha256: ") + EMPTY_SHA256);
      if (!creds_.session_token.empty()) add("x-amz-security-token: " + creds_.session_token);
    }
    size_t got = 0;
    probe_.resize(PROBE_SIZE);
    fetch(0, PROBE_SIZE, probe_.data(), true, got);
    probe_.resize(got);
    // From now on every request asks for the version we saw.  A weak ETag
    // cannot be used with If-Match (strong comparison), but is still compared.
    if (!etag_.empty() && etag_.rfind("W/", 0) != 0)
      add("If-Match: " + etag_);
    else if (!last_modified_.empty())
      add("If-Unmodified-Since: " + last_modified_);
    else
      remote_log(url_ + ": the server sends neither ETag nor Last-Modified: a replaced object can only be "
                        "detected by its size");
  } catch (...) {
    for (CURL *h : pool_) curl_easy_cleanup(h);
    pool_.clear();
    curl_slist_free_all(headers_);
    curl_share_cleanup(sh);
    throw;
  }
}

HttpObject::~HttpObject() {
  for (CURL *h : pool_) curl_easy_cleanup(h);
  curl_slist_free_all(headers_);
  curl_share_cleanup(static_cast<CURLSH *>(share_));
}

CURL *HttpObject::take() {
  {
    std::lock_guard<std::mutex> g(pool_mu_);
    if (!pool_.empty()) {
      CURL *h = pool_.back();
      pool_.pop_back();
      return h;
    }
  }
  CURL *h = curl_easy_init();
  if (!h) throw Error(url_ + ": libcurl: cannot create a handle", ENOMEM);
  curl_easy_setopt(h, CURLOPT_URL, http_url_.c_str());
  curl_easy_setopt(h, CURLOPT_SHARE, share_);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, long(opts_.connect_timeout));
  curl_easy_setopt(h, CURLOPT_TIMEOUT, long(opts_.timeout));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, opts_.sslverify ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, opts_.sslverify ? 2L : 0L);
  if (!opts_.cainfo.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, opts_.cainfo.c_str());
  // Plain HTTP(S) objects may sit behind a redirect; signed S3 requests
  // must not be re-sent to another host.
  if (!s3_) {
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  }
  if (!sigv4_.empty()) {
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4_.c_str());
    curl_easy_setopt(h, CURLOPT_USERPWD, userpwd_.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  return h;
}

void HttpObject::give(CURL *h) {
  std::lock_guard<std::mutex> g(pool_mu_);
  pool_.push_back(h);
}

void HttpObject::drop_connections() {
  std::lock_guard<std::mutex> g(pool_mu_);
  for (CURL *h : pool_) curl_easy_cleanup(h);
  pool_.clear();
}

HttpObject::Outcome HttpObject::attempt(CURL *h, Transfer &t, std::string &why, int &err) {
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t.errbuf);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_);
  CURLcode rc = curl_easy_perform(h);
  requests_++;
  bytes_ += t.got;
  err = EIO;
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t.overflow)) {
    why = t.errbuf[0] ? std::string(t.errbuf) : curl_easy_strerror(rc);
    if (rc == CURLE_COULDNT_RESOLVE_HOST) err = ENOENT;
    return transient(rc) ? Outcome::RETRY : Outcome::FATAL;
  }
  long status = t.status;
  if (status == 206 || status == 200) return Outcome::OK;
  why = "HTTP " + std::to_string(status);
  std::string detail = error_detail(t.error_body);
  if (!detail.empty()) why += " (" + detail + ")";
  switch (status) {
    case 404:
      err = ENOENT;
      why += ": no such object";
      return Outcome::FATAL;
    case 401:
    case 403:
      err = EACCES;
      why += ": access refused";
      return Outcome::FATAL;
    case 412:
      why += ": the object was replaced or modified since it was opened";
      return Outcome::FATAL;
    case 408:
    case 429:
      return Outcome::RETRY;
    default:
      return status >= 500 ? Outcome::RETRY : Outcome::FATAL;
  }
}

void HttpObject::fetch(uint64_t off, size_t len, unsigned char *buf, bool probe, size_t &got) {
  std::string range = std::to_string(off) + "-" + std::to_string(off + len - 1);
  std::string what = url_ + ": bytes " + range;
  std::string why;
  int err = EIO;
  unsigned attempts = 0;
  for (;;) {
    attempts++;
    Transfer t;
    t.buf = buf;
    t.want = len;
    CURL *h = take();
    curl_easy_setopt(h, CURLOPT_RANGE, range.c_str());
    Outcome o;
    try {
      o = attempt(h, t, why, err);
    } catch (...) {
      give(h);
      throw;
    }
    give(h);

    if (o == Outcome::OK) {
      // Check that this is the range, and the version, that we asked for.
      uint64_t first = 0, last = 0, total = 0;
      if (t.status == 200) {
        // The server ignored Range: acceptable only if the whole object fit.
        if (t.overflow || off != 0)
          throw Error(what + ": the server does not support range requests (it answered 200 with the whole object)",
                      EIO);
        first = 0, total = t.got, last = t.got ? t.got - 1 : 0;
        if (t.got == 0) throw Error(url_ + ": the object is empty", EIO);
      } else if (!parse_content_range(t.content_range, first, last, total)) {
        throw Error(what + ": the server answered 206 with a bad Content-Range \"" + t.content_range + "\"", EIO);
      }
      if (t.overflow) throw Error(what + ": the server sent more bytes than asked for", EIO);
      if (probe) {
        size_ = total;
        etag_ = t.etag;
        last_modified_ = t.last_modified;
      } else if (total != size_ || t.etag != etag_ || t.last_modified != last_modified_) {
        throw Error(what + ": the object was replaced or modified since it was opened (" +
                        (total != size_ ? "size " + std::to_string(total) + ", was " + std::to_string(size_)
                                        : "ETag " + t.etag + ", was " + etag_) +
                        "); refusing to mix two versions",
                    EIO);
      }
      size_t expect = size_t(std::min<uint64_t>(len, total - std::min(total, off)));
      if (first != off || last - first + 1 != expect || t.got != expect)
        throw Error(what + ": the server sent bytes " + std::to_string(first) + "-" + std::to_string(last) + " (" +
                        std::to_string(t.got) + " bytes) instead",
                    EIO);
      got = t.got;
      return;
    }
    if (o == Outcome::FATAL || attempts > opts_.retries) break;
    // Exponential backoff: 250 ms, 500 ms, 1 s, ... capped at 8 s.
    auto delay = std::chrono::milliseconds(std::min<uint64_t>(8000, 250ull << std::min(attempts - 1, 5u)));
    remote_log(what + ": " + why + "; retrying in " + std::to_string(delay.count()) + " ms (attempt " +
               std::to_string(attempts + 1) + " of " + std::to_string(opts_.retries + 1) + ")");
    std::this_thread::sleep_for(delay);
  }
  throw Error(what + ": " + why + (attempts > 1 ? " (after " + std::to_string(attempts) + " attempts)" : ""), err);
}

void HttpObject::get(uint64_t off, size_t len, void *buf) {
  if (len == 0) return;
  if (off > size_ || len > size_ - off)
    throw Error(url_ + ": read of " + std::to_string(len) + " bytes at " + std::to_string(off) +
                    " is beyond the end of the object (" + std::to_string(size_) + " bytes)",
                EIO);
  size_t got = 0;
  fetch(off, len, static_cast<unsigned char *>(buf), false, got);
}

}  // namespace hexz
