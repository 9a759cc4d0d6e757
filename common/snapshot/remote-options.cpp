#include "remote-options.h"

#include <climits>
#include <cstdlib>

#include "error.h"
#include "util.h"

namespace hexz {

namespace {

bool parse_bool(const std::string &key, const std::string &v) {
  if (v == "1" || v == "true" || v == "on" || v == "yes") return true;
  if (v == "0" || v == "false" || v == "off" || v == "no") return false;
  throw Error(key + "=" + v + ": expected true or false", EINVAL);
}

unsigned parse_uint(const std::string &key, const std::string &v, unsigned max) {
  char *end = nullptr;
  errno = 0;
  unsigned long n = std::strtoul(v.c_str(), &end, 10);
  if (v.empty() || *end || errno || n > max || v[0] == '-')
    throw Error(key + "=" + v + ": expected a whole number up to " + std::to_string(max), EINVAL);
  return unsigned(n);
}

}  // namespace

bool RemoteOptions::set(const std::string &key, const std::string &value) {
  if (key == "cainfo") {
    cainfo = value;
  } else if (key == "sslverify") {
    sslverify = parse_bool(key, value);
  } else if (key == "s3-endpoint") {
    if (value.rfind("http://", 0) != 0 && value.rfind("https://", 0) != 0)
      throw Error("s3-endpoint=" + value + ": expected http://HOST[:PORT] or https://HOST[:PORT]", EINVAL);
    s3_endpoint = value;
  } else if (key == "retries") {
    retries = parse_uint(key, value, 100);
  } else if (key == "timeout") {
    timeout = parse_uint(key, value, 86400);
  } else if (key == "cache-dir") {
    cache_dir = value;
  } else if (key == "cache-dir-size") {
    cache_dir_size = parse_size(value, "cache-dir-size");
    if (cache_dir_size < (1u << 20)) throw Error("cache-dir-size=" + value + ": at least 1M", EINVAL);
  } else {
    return false;
  }
  return true;
}

RemoteOptions &default_remote_options() {
  // Start from the variables curl and the AWS tools read, so that the tools,
  // and the nbdkit they start, reach a private CA or an S3-compatible store
  // without options of their own.
  static RemoteOptions opts = [] {
    RemoteOptions o;
    if (const char *v = std::getenv("CURL_CA_BUNDLE"); v && *v) o.cainfo = v;
    for (const char *name : {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}) {
      const char *v = std::getenv(name);
      if (!v || !*v) continue;
      try {
        o.set("s3-endpoint", v);
      } catch (const Error &e) {
        throw Error(std::string(name) + ": " + e.what(), EINVAL);
      }
      break;
    }
    if (const char *v = std::getenv("HEXZ_CACHE_DIR"); v && *v) o.cache_dir = v;
    return o;
  }();
  return opts;
}

}  // namespace hexz
