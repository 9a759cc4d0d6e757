// The settings of remote (HTTP(S) and S3) snapshot access, parsed from the
// plugin's parameters, with the spelling nbdkit-curl-plugin uses where it has
// the same setting (cainfo=, sslverify=, timeout=).
#pragma once
#include <cstdint>
#include <string>

namespace hexz {

struct RemoteOptions {
  std::string cainfo;        // CA bundle file; empty: the system's
  bool sslverify = true;     // verify the server's certificate and name
  std::string s3_endpoint;   // S3-compatible store, path-style; empty: AWS
  unsigned retries = 5;      // further attempts after a transient failure
  unsigned timeout = 60;     // seconds for one request (0: no limit)
  unsigned connect_timeout = 10;
  std::string cache_dir;     // persistent block cache; empty: none
  uint64_t cache_dir_size = 1ull << 30;

  // Applies KEY=VALUE if KEY is one of the remote settings (returns false if
  // it is not).  Throws Error(EINVAL) naming KEY on a bad value.
  bool set(const std::string &key, const std::string &value);
};

// The settings used by Snapshot::open(URL) and for every URL of a chain: at
// first from the environment (CURL_CA_BUNDLE for cainfo, AWS_ENDPOINT_URL_S3
// or AWS_ENDPOINT_URL for s3-endpoint, HEXZ_CACHE_DIR for cache-dir), then
// the plugin's parameters override them.
RemoteOptions &default_remote_options();

}  // namespace hexz
