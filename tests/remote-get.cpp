// remote-get: drives the remote layer (HttpObject, DiskCache) directly, for
// test-remote-http.sh and test-remote-s3.sh.
//
//   remote-get [KEY=VALUE...] URL [STEP...]
//
// KEY=VALUE are RemoteOptions (cainfo=, sslverify=, s3-endpoint=, retries=,
// timeout=, cache-dir=, cache-dir-size=).  With no STEP it prints the
// object's size.  Steps, in order:
//   OFF:LEN    write bytes [OFF, OFF+LEN) to stdout (through cache-dir, keyed
//              by a fixed test UUID, when one is given)
//   wait:FILE  wait (at most 60 s) until FILE exists, then go on
// At the end it prints "requests=N bytes=M hits=H damaged=D" on stderr.
// Errors: the message on stderr, exit 1.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "error.h"
#include "remote-cache.h"
#include "remote-http.h"
#include "remote-url.h"

int main(int argc, char **argv) {
  try {
    hexz::set_remote_logger([](const std::string &m) { std::fprintf(stderr, "remote-get: %s\n", m.c_str()); });
    hexz::RemoteOptions opts;
    int i = 1;
    for (; i < argc && !hexz::is_url(argv[i]); i++) {
      std::string a = argv[i];
      size_t eq = a.find('=');
      if (eq == std::string::npos || !opts.set(a.substr(0, eq), a.substr(eq + 1)))
        throw hexz::Error(a + ": unknown option", EINVAL);
    }
    if (i >= argc) throw hexz::Error("usage: remote-get [KEY=VALUE...] URL [OFF:LEN|wait:FILE...]", EINVAL);
    hexz::HttpObject obj(argv[i++], opts);
    std::unique_ptr<hexz::DiskCache> cache;
    if (!opts.cache_dir.empty()) cache = std::make_unique<hexz::DiskCache>(opts.cache_dir, opts.cache_dir_size);
    hexz::Uuid uuid{};
    for (size_t k = 0; k < uuid.size(); k++) uuid[k] = uint8_t(0x40 + k);
    if (i == argc) std::printf("%llu\n", (unsigned long long)obj.size());
    for (; i < argc; i++) {
      std::string step = argv[i];
      if (step.rfind("wait:", 0) == 0) {
        for (int t = 0; t < 600 && access(step.c_str() + 5, F_OK) != 0; t++)
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      unsigned long long off, len;
      if (std::sscanf(step.c_str(), "%llu:%llu", &off, &len) != 2) throw hexz::Error(step + ": expected OFF:LEN", EINVAL);
      std::vector<unsigned char> buf(len);
      if (!cache || !cache->get(uuid, off, uint32_t(len), buf.data())) {
        obj.get(off, len, buf.data());
        if (cache) cache->put(uuid, off, uint32_t(len), buf.data());
      }
      std::fwrite(buf.data(), 1, buf.size(), stdout);
    }
    std::fflush(stdout);
    std::fprintf(stderr, "requests=%llu bytes=%llu hits=%llu damaged=%llu\n", (unsigned long long)obj.requests(),
                 (unsigned long long)obj.bytes_fetched(), (unsigned long long)(cache ? cache->hits() : 0),
                 (unsigned long long)(cache ? cache->damaged() : 0));
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "remote-get: %s\n", e.what());
    return 1;
  }
}
