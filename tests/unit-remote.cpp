// Unit tests of the remote layer's pure parts: URL resolution, S3 URLs,
// redaction, credentials files, options, and the persistent cache (hits,
// damaged and torn entries, eviction).
#include <criterion/criterion.h>

#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "error.h"
#include "remote-cache.h"
#include "remote-credentials.h"
#include "remote-options.h"
#include "remote-url.h"

using namespace hexz;

// Compares a std::string result (kept alive while the message is built).
#define expect_str(expr, want)                                                           \
  do {                                                                                   \
    std::string got_ = (expr);                                                           \
    cr_assert(got_ == (want), "%s: got \"%s\", want \"%s\"", #expr, got_.c_str(), want); \
  } while (0)

static std::string scratch() {
  static std::string dir;
  if (dir.empty()) {
    char t[] = "/tmp/hexz-unit-remote.XXXXXX";
    cr_assert(mkdtemp(t));
    dir = t;
  }
  return dir;
}

Test(remote_url, detects_urls) {
  cr_assert(is_url("http://h/x.st"));
  cr_assert(is_url("HTTPS://h/x.st"));
  cr_assert(is_url("s3://bucket/key"));
  cr_assert(!is_url("/srv/x.st"));
  cr_assert(!is_url("x.st"));
  cr_assert(!is_url("file:///x.st"));
  cr_assert(!is_url("nbd+unix:///?socket=s"));
}

Test(remote_url, resolves_relative_parents) {
  expect_str(resolve_url("http://h:8/a/b/child.st", "base.st"), "http://h:8/a/b/base.st");
  expect_str(resolve_url("http://h/a/b/child.st", "../base.st"), "http://h/a/base.st");
  expect_str(resolve_url("http://h/a/b/child.st", "./x/./y.st"), "http://h/a/b/x/y.st");
  expect_str(resolve_url("http://h/a/b/child.st", "/top.st"), "http://h/top.st");
  expect_str(resolve_url("http://h/a/child.st?v=1", "base.st"), "http://h/a/base.st");
  expect_str(resolve_url("s3://bkt/img/child.st", "base.st"), "s3://bkt/img/base.st");
  expect_str(resolve_url("s3://bkt/child.st", "base.st"), "s3://bkt/base.st");
  expect_str(resolve_url("s3://bkt/a/child.st", "https://o/p.st"), "https://o/p.st");
  cr_assert_throw(resolve_url("http://h/a/child.st", "../../x.st"), Error);
  cr_assert_throw(resolve_url("s3://bkt/child.st", "../x.st"), Error);
}

Test(remote_url, s3_locations) {
  S3Location l = parse_s3_url("s3://my-bucket.1/dir/vm 1+x.st");
  expect_str(l.bucket, "my-bucket.1");
  expect_str(l.key, "dir/vm 1+x.st");
  expect_str(s3_http_url(l, "http://127.0.0.1:9000/", "us-east-1"),
                   "http://127.0.0.1:9000/my-bucket.1/dir/vm%201%2Bx.st");
  expect_str(s3_http_url(l, "", "eu-west-3"),
                   "https://my-bucket.1.s3.eu-west-3.amazonaws.com/dir/vm%201%2Bx.st");
  cr_assert_throw(parse_s3_url("s3://bucket"), Error);
  cr_assert_throw(parse_s3_url("s3://bucket/"), Error);
  cr_assert_throw(parse_s3_url("s3://Bad_Bucket/k"), Error);
  cr_assert_throw(parse_s3_url("s3://host:1@evil/k"), Error);
}

Test(remote_url, redacts_credentials) {
  expect_str(redact_url("https://user:pw@h/x"), "https://***@h/x");
  expect_str(redact_url("https://h/x@y"), "https://h/x@y");
  expect_str(redact_url("s3://b/k"), "s3://b/k");
}

Test(remote_options, parses_and_refuses) {
  RemoteOptions o;
  cr_assert(o.set("sslverify", "false"));
  cr_assert(!o.sslverify);
  cr_assert(o.set("retries", "2"));
  cr_assert_eq(o.retries, 2u);
  cr_assert(o.set("cache-dir-size", "64M"));
  cr_assert_eq(o.cache_dir_size, 64ull << 20);
  cr_assert(!o.set("file", "x"));
  cr_assert_throw(o.set("sslverify", "maybe"), Error);
  cr_assert_throw(o.set("retries", "-1"), Error);
  cr_assert_throw(o.set("s3-endpoint", "127.0.0.1:9000"), Error);
  cr_assert_throw(o.set("cache-dir-size", "1K"), Error);
}

Test(remote_credentials, environment_then_file) {
  std::string home = scratch() + "/home";
  mkdir(home.c_str(), 0700);
  mkdir((home + "/.aws").c_str(), 0700);
  std::ofstream(home + "/.aws/credentials") << "[default]\naws_access_key_id = AKDEF\naws_secret_access_key=SDEF\n"
                                            << "[other]\naws_access_key_id=AKO\naws_secret_access_key = SO\n"
                                            << "aws_session_token = TOK\n";
  std::ofstream(home + "/.aws/config") << "[profile other]\nregion = eu-north-1\n";
  setenv("HOME", home.c_str(), 1);
  for (const char *v : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
                        "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"})
    unsetenv(v);

  AwsCredentials c = load_aws_credentials();
  expect_str(c.access_key, "AKDEF");
  expect_str(c.secret_key, "SDEF");
  expect_str(c.region, "us-east-1");

  setenv("AWS_PROFILE", "other", 1);
  c = load_aws_credentials();
  expect_str(c.access_key, "AKO");
  expect_str(c.session_token, "TOK");
  expect_str(c.region, "eu-north-1");

  setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "SENV", 1);
  setenv("AWS_REGION", "ap-south-1", 1);
  c = load_aws_credentials();
  expect_str(c.access_key, "AKENV");
  expect_str(c.secret_key, "SENV");
  cr_assert(c.session_token.empty());
  expect_str(c.region, "ap-south-1");

  unsetenv("AWS_SECRET_ACCESS_KEY");
  try {
    load_aws_credentials();
    cr_assert_fail("a key without its secret was accepted");
  } catch (const Error &e) {
    cr_assert(std::strstr(e.what(), "AKENV") == nullptr, "the message shows a credential: %s", e.what());
  }
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_PROFILE");
  unsetenv("AWS_REGION");
}

static std::vector<unsigned char> pattern(size_t n, unsigned seed) {
  std::vector<unsigned char> v(n);
  for (size_t i = 0; i < n; i++) v[i] = uint8_t(i * 31 + seed * 7 + (i >> 8));
  return v;
}

static std::vector<std::string> entries(const std::string &dir) {
  std::vector<std::string> out;
  std::vector<std::string> todo{dir};
  while (!todo.empty()) {
    std::string d = todo.back();
    todo.pop_back();
    DIR *h = opendir(d.c_str());
    if (!h) continue;
    while (struct dirent *e = readdir(h)) {
      if (e->d_name[0] == '.') continue;
      std::string p = d + "/" + e->d_name;
      struct stat st;
      lstat(p.c_str(), &st);
      if (S_ISDIR(st.st_mode))
        todo.push_back(p);
      else
        out.push_back(p);
    }
    closedir(h);
  }
  return out;
}

Test(remote_cache, hit_miss_and_damage) {
  std::string dir = scratch() + "/cache1";
  DiskCache c(dir, 64 << 20);
  Uuid u{};
  u[0] = 1;
  Uuid other = u;
  other[0] = 2;
  auto data = pattern(10000, 1);
  std::vector<unsigned char> buf(10000);
  cr_assert(!c.get(u, 4096, 10000, buf.data()));
  c.put(u, 4096, 10000, data.data());
  cr_assert(c.get(u, 4096, 10000, buf.data()));
  cr_assert(buf == data);
  // Another snapshot, offset or length is another entry.
  cr_assert(!c.get(other, 4096, 10000, buf.data()));
  cr_assert(!c.get(u, 4097, 10000, buf.data()));
  cr_assert(!c.get(u, 4096, 9999, buf.data()));

  // A second cache object on the same directory (another process) sees it.
  DiskCache c2(dir, 64 << 20);
  cr_assert(c2.get(u, 4096, 10000, buf.data()));

  auto files = entries(dir + "/v1");
  cr_assert_eq(files.size(), 1u);
  // One flipped byte: a miss, the entry is removed, nothing wrong is served.
  int fd = open(files[0].c_str(), O_RDWR);
  unsigned char b;
  cr_assert_eq(pread(fd, &b, 1, 5000), 1);
  b ^= 0x20;
  cr_assert_eq(pwrite(fd, &b, 1, 5000), 1);
  close(fd);
  std::fill(buf.begin(), buf.end(), 0);
  cr_assert(!c.get(u, 4096, 10000, buf.data()));
  cr_assert_eq(c.damaged(), 1u);
  cr_assert_neq(access(files[0].c_str(), F_OK), 0, "the damaged entry was not removed");

  // A torn entry (cut short) is a miss too; a rewritten one serves again.
  c.put(u, 4096, 10000, data.data());
  cr_assert_eq(truncate(files[0].c_str(), 6000), 0);
  cr_assert(!c.get(u, 4096, 10000, buf.data()));
  c.put(u, 4096, 10000, data.data());
  cr_assert(c.get(u, 4096, 10000, buf.data()));
  cr_assert(buf == data);
}

Test(remote_cache, evicts_least_recently_used) {
  std::string dir = scratch() + "/cache2";
  const uint64_t bound = 1 << 20;
  DiskCache c(dir, bound);
  Uuid u{};
  auto data = pattern(64 << 10, 3);
  std::vector<unsigned char> buf(data.size());
  // Entry 0 is used again after every write, so it stays the most recent.
  c.put(u, 0, uint32_t(data.size()), data.data());
  for (unsigned i = 1; i <= 40; i++) {
    usleep(2000);  // distinct mtimes
    c.put(u, uint64_t(i) << 20, uint32_t(data.size()), data.data());
    cr_assert(c.get(u, 0, uint32_t(data.size()), buf.data()), "entry 0 evicted after write %u", i);
  }
  uint64_t total = 0;
  for (auto &f : entries(dir + "/v1")) {
    struct stat st;
    stat(f.c_str(), &st);
    total += uint64_t(st.st_size);
  }
  cr_assert_leq(total, bound, "cache holds %llu bytes, bound %llu", (unsigned long long)total,
                (unsigned long long)bound);
  cr_assert(c.get(u, uint64_t(40) << 20, uint32_t(data.size()), buf.data()), "the newest entry was evicted");
  cr_assert(!c.get(u, uint64_t(1) << 20, uint32_t(data.size()), buf.data()), "the oldest entry was kept");
}
