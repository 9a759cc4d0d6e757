#include "ext-files.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "error.h"
#include "ext.h"
#include "source.h"

namespace hexz::fs {

namespace {

using Clock = std::chrono::steady_clock;

// The protocol.  Requests: READ (inode, offset, length: three u64) and
// XATTRS (inode: u64).  Replies: READY once the filesystem is open, DATA
// (the bytes read, or encode_xattrs), or worker.h's FAILED (this file is
// damaged: message; the worker goes on), NO_MEMORY and READ_ERROR.
enum Tag : char { READ = 'R', XATTRS = 'A', READY = 'K', DATA = 'D' };

// The most one READ asks for; a reader asking for more gets it in turns.
constexpr size_t MAX_READ = 1 << 20;
// Error messages, a filesystem's attributes of one file.
constexpr size_t MAX_MESSAGE = 1 << 16, MAX_XATTRS = 16 << 20;

uint64_t get_u64(const std::string &s, size_t i) {
  uint64_t v;
  memcpy(&v, s.data() + 8 * i, 8);
  return v;
}

std::string u64s(std::initializer_list<uint64_t> v) {
  std::string s;
  for (uint64_t x : v) s.append(reinterpret_cast<const char *>(&x), 8);
  return s;
}

// The worker's side: one open file at a time (a reader reads a file from
// its start to its end), libext2fs's own caches for the rest.
class Server {
 public:
  Server(Source &disk, const Partition &part) : ext_(disk, part.start, part.length) {}
  ~Server() {
    if (file_) ext2fs_file_close(file_);
  }

  std::string read(uint64_t inode, uint64_t offset, uint64_t len) {
    if (len > MAX_READ) throw Error("a read of " + std::to_string(len) + " bytes");
    if (!file_ || inode_ != inode) {
      if (file_) ext2fs_file_close(file_);
      file_ = nullptr;
      if (errcode_t e = ext2fs_file_open(ext_.get(), ext2_ino_t(inode), 0, &file_)) throw Error(error_message(e));
      inode_ = inode;
    }
    if (errcode_t e = ext2fs_file_llseek(file_, offset, EXT2_SEEK_SET, nullptr)) throw Error(error_message(e));
    std::string out(size_t(len), '\0');
    size_t got = 0;
    while (got < out.size()) {
      unsigned n = 0;
      if (errcode_t e = ext2fs_file_read(file_, out.data() + got, unsigned(out.size() - got), &n))
        throw Error(error_message(e));
      if (n == 0) break;
      got += n;
    }
    check_io();
    out.resize(got);
    return out;
  }

  Xattrs xattrs(uint64_t inode) {
    Xattrs v;
    struct ext2_xattr_handle *h = nullptr;
    if (ext2fs_xattrs_open(ext_.get(), ext2_ino_t(inode), &h)) return v;  // no xattr support in this fs
    errcode_t e = ext2fs_xattrs_read(h);
    if (!e) {
      auto cb = [](char *name, char *value, size_t len, void *data) -> int {
        static_cast<Xattrs *>(data)->emplace_back(name, std::string(value, len));
        return 0;
      };
      ext2fs_xattrs_iterate(h, cb, &v);
    }
    ext2fs_xattrs_close(&h);
    if (e) throw Error(std::string("extended attributes: ") + error_message(e));
    check_io();
    std::sort(v.begin(), v.end());
    return v;
  }

 private:
  // libext2fs passes over some unreadable blocks: an I/O error anywhere
  // makes every answer from here on suspect.
  void check_io() {
    if (!ext_.io_error().empty()) throw Error(ext_.io_error());
  }
  ExtFs ext_;
  ext2_file_t file_ = nullptr;
  uint64_t inode_ = 0;
};

void serve(Source &disk, int fd, const Partition &part) {
  Server server(disk, part);  // an Error here is sent as FAILED
  send_record(fd, READY, "");
  char tag;
  std::string req;
  for (bool first = true; receive_record(fd, 64, &tag, &req); first = false) {
    if (first) sandbox_test_hook("content-", part.number);
    try {
      if (tag == READ && req.size() == 24)
        send_record(fd, DATA, server.read(get_u64(req, 0), get_u64(req, 1), get_u64(req, 2)));
      else if (tag == XATTRS && req.size() == 8)
        send_record(fd, DATA, encode_xattrs(server.xattrs(get_u64(req, 0))));
      else
        return;  // not our parent's request
    } catch (const Error &e) {
      send_record(fd, FAILED, e.what());
    }
  }
}

// Reads one record of at most MAX payload bytes from FD before DEADLINE.
// Returns "" when it has, GONE when the worker closed its end (its exit
// status says why), or why it gave up on the worker.
const std::string GONE = "(gone)";
std::string receive(int fd, Clock::time_point deadline, size_t max, const SandboxLimits &lim, char *tag,
                    std::string *payload) {
  char head[RECORD_HEAD];
  size_t have = 0, want = sizeof head;
  char *dst = head;
  bool in_head = true;
  for (;;) {
    if (have == want) {
      if (!in_head) return "";
      uint64_t len = record_length(head);
      if (len > max) return "sent a reply of " + std::to_string(len) + " bytes; killed";
      *tag = head[0];
      payload->resize(size_t(len));
      in_head = false;
      have = 0;
      want = payload->size();
      dst = payload->data();
      continue;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return worker_timeout_message(lim);
    pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, int(std::min<long long>(left, 60000)));
    if (n < 0 && errno != EINTR) return std::string("poll: ") + strerror(errno);
    if (n <= 0) continue;
    ssize_t r = read(fd, dst + have, want - have);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return GONE;
    have += size_t(r);
  }
}

class ExtReader : public ContentReader {
 public:
  ExtReader(ExtFiles &files, uint64_t inode) : files_(files), inode_(inode) {}
  size_t read(void *buf, size_t len) override {
    len = std::min(len, MAX_READ);
    std::string d = files_.request(READ, u64s({inode_, offset_, len}), len, inode_);
    memcpy(buf, d.data(), d.size());
    offset_ += d.size();
    return d.size();
  }

 private:
  ExtFiles &files_;
  uint64_t inode_, offset_ = 0;
};

}  // namespace

ExtFiles::ExtFiles(const DiskOpener &disk, const Partition &part, const std::string &what, const SandboxLimits &lim)
    : what_(what), lim_(lim) {
  worker_ = spawn_worker(disk, lim, false, [part](Source &src, int fd) { serve(src, fd, part); });
  char tag = 0;
  std::string payload;
  std::string why = receive(worker_.fd, Clock::now() + std::chrono::seconds(lim.timeout), MAX_MESSAGE, lim, &tag,
                            &payload);
  if (why.empty() && tag == READY) return;
  if (why.empty() && tag == FAILED) why = payload;
  if (why.empty() && tag == READ_ERROR) why = "cannot read the disk: " + payload;
  if (why.empty() && tag == NO_MEMORY) why = worker_memory_message(lim);
  if (why.empty()) why = "answered with an unknown record";
  fail(why);
}

ExtFiles::~ExtFiles() {
  if (worker_.pid > 0) {
    kill(worker_.pid, SIGKILL);
    waitpid(worker_.pid, nullptr, 0);
  }
  if (worker_.fd >= 0) close(worker_.fd);
}

void ExtFiles::fail(const std::string &why) {
  int status = 0;
  if (worker_.pid > 0) {
    // Unless it closed its end, it is alive and misbehaving.
    if (why != GONE) kill(worker_.pid, SIGKILL);
    while (waitpid(worker_.pid, &status, 0) < 0 && errno == EINTR) {
    }
    worker_.pid = -1;
  }
  std::string w = why;
  if (w == GONE) {
    w = worker_death(status, lim_);
    if (w.empty()) w = "ended without answering";
  }
  dead_ = what_ + ": file content reader " + w;
  throw Error(dead_, EIO);
}

std::string ExtFiles::request(char tag, const std::string &payload, size_t max_reply, uint64_t inode) {
  if (!dead_.empty()) throw Error(dead_, EIO);
  std::string head = record_head(tag, payload.size()) + payload;
  for (size_t off = 0; off < head.size();) {
    ssize_t w = ::send(worker_.fd, head.data() + off, head.size() - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) fail(GONE);
    off += size_t(w);
  }
  char rtag = 0;
  std::string reply;
  std::string why = receive(worker_.fd, Clock::now() + std::chrono::seconds(lim_.timeout),
                            std::max(max_reply, MAX_MESSAGE), lim_, &rtag, &reply);
  if (!why.empty()) fail(why);
  if (rtag == FAILED) throw Error(what_ + ": inode " + std::to_string(inode) + ": " + reply, EIO);
  if (rtag == NO_MEMORY) fail(worker_memory_message(lim_));
  if (rtag != DATA) fail("answered with an unknown record");
  if (reply.size() > max_reply) fail("sent " + std::to_string(reply.size()) + " bytes for " + std::to_string(max_reply));
  return reply;
}

std::unique_ptr<ContentReader> ExtFiles::open(uint64_t inode) { return std::make_unique<ExtReader>(*this, inode); }

Xattrs ExtFiles::xattrs(uint64_t inode) {
  std::string d = request(XATTRS, u64s({inode}), MAX_XATTRS, inode);
  try {
    return decode_xattrs(d);
  } catch (const WireError &e) {
    fail(std::string("returned malformed attributes (") + e.what() + ")");
  }
}

}  // namespace hexz::fs
