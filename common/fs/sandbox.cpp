#include "sandbox.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "partition.h"
#include "probe.h"
#include "source.h"
#include "wire.h"

namespace hexz::fs {

namespace {

using Clock = std::chrono::steady_clock;

// A worker's result is a sequence of records (worker.h).
enum Tag : char {
  TABLE = 'T',      // encode_table
  FSMAP = 'F',      // encode_fsmap
  PROBED = 'P',     // the probed filesystem type, sent before parsing starts
  // and worker.h's READ_ERROR, FAILED, NO_MEMORY
};

// What the parent accepts from one worker, at most.  A real map of a
// filesystem with millions of files stays far below.
constexpr size_t MAX_RESULT = size_t(1) << 31;

struct Record {
  char tag;
  std::string payload;
};

// The complete records at the start of BUF (a killed worker's last one
// may be cut short).
std::vector<Record> records(const std::string &buf) {
  std::vector<Record> v;
  size_t pos = 0;
  while (buf.size() - pos >= RECORD_HEAD) {
    uint64_t len = record_length(buf.data() + pos);
    if (len > buf.size() - pos - RECORD_HEAD) break;
    v.push_back({buf[pos], buf.substr(pos + RECORD_HEAD, size_t(len))});
    pos += RECORD_HEAD + size_t(len);
  }
  return v;
}

// One disk: its table worker, then one worker per partition, in turn.
struct Run {
  const DiskOpener *disk = nullptr;
  DiskMap map;
  bool have_table = false, finished = false;
  std::string fatal;               // the disk cannot be read
  std::vector<Partition> todo;     // partitions to map, in table order
  size_t next = 0;
  // The worker running now.
  pid_t pid = -1;
  int fd = -1;
  std::string buf;
  Clock::time_point deadline;
  const Partition *part = nullptr;  // null: the table worker
  bool timed_out = false, oversized = false;
};

// Why the worker of R produced no usable result, or "" if it did.
std::string failure(const Run &r, int status, const SandboxLimits &lim) {
  if (r.timed_out) return worker_timeout_message(lim);
  if (r.oversized) return "sent more than " + std::to_string(MAX_RESULT >> 20) + " MiB of results; killed";
  return worker_death(status, lim);
}

// Applies the finished worker's result to R.
void collect(Run &r, int status, const SandboxLimits &lim) {
  std::string why = failure(r, status, lim);
  std::vector<Record> recs = records(r.buf);
  r.buf.clear();
  if (!r.part) {  // the partition table
    r.have_table = true;
    std::string what = "partition table parser ";
    try {
      for (auto &rec : recs) {
        if (rec.tag == READ_ERROR) {
          r.fatal = rec.payload;
          return;
        }
        if (rec.tag == NO_MEMORY) why = worker_memory_message(lim);
        if (rec.tag == FAILED) why = "failed: " + rec.payload;
        if (rec.tag == TABLE && why.empty()) {
          r.map.table = decode_table(rec.payload, r.map.size);
          if (r.map.table.scheme == "none") {
            Partition whole;
            whole.length = r.map.size;
            r.todo = {whole};
          } else {
            r.todo = r.map.table.partitions;
          }
          return;
        }
      }
      if (why.empty()) why = "returned no result";
    } catch (const WireError &e) {
      why = std::string("returned a malformed result (") + e.what() + ")";
    }
    // No table: the whole disk is one partition nobody could read.
    r.map.table = PartitionTable{};
    r.map.table.scheme = "none";
    r.map.table.errors.push_back(what + why);
    FsMap f;
    f.part.length = r.map.size;
    f.status = FsStatus::DAMAGED;
    f.message = what + why;
    r.map.filesystems.push_back(std::move(f));
    return;
  }
  std::string type;
  try {
    for (auto &rec : recs) {
      if (rec.tag == READ_ERROR) why = "cannot read the disk: " + rec.payload;
      if (rec.tag == NO_MEMORY) why = worker_memory_message(lim);
      if (rec.tag == FAILED) why = "failed: " + rec.payload;
      if (rec.tag == PROBED && rec.payload.size() <= 32) type = rec.payload;
      if (rec.tag == FSMAP && why.empty()) {
        r.map.filesystems.push_back(decode_fsmap(rec.payload, *r.part));
        return;
      }
    }
    if (why.empty()) why = "returned no result";
  } catch (const WireError &e) {
    why = std::string("returned a malformed result (") + e.what() + ")";
  }
  FsMap f;
  f.part = *r.part;
  for (const char *t : {"ext2", "ext3", "ext4", "vfat", "exfat", "ntfs", "hfsplus", "iso9660"})
    if (type == t) f.type = type;
  f.status = FsStatus::DAMAGED;
  f.message = "filesystem parser " + why;
  r.map.filesystems.push_back(std::move(f));
}

void start_next(Run &r, const SandboxLimits &lim) {
  WorkerBody body;
  if (!r.have_table) {
    r.part = nullptr;
    body = [](Source &src, int out) {
      PartitionTable t;
      try {
        t = read_partition_table(src);
      } catch (const Error &e) {
        send_record(out, READ_ERROR, e.what());
        return;
      }
      send_record(out, TABLE, encode_table(t));
    };
  } else if (r.fatal.empty() && r.next < r.todo.size()) {
    r.part = &r.todo[r.next++];
    Partition part = *r.part;
    body = [part](Source &src, int out) {
      std::string type;
      try {
        type = probe_filesystem(src, part.start, part.length);
      } catch (const std::exception &) {
      }
      send_record(out, PROBED, type);
      sandbox_test_hook("", part.number);
      send_record(out, FSMAP, encode_fsmap(map_partition(src, part)));
    };
  } else {
    r.finished = true;
    return;
  }
  r.timed_out = r.oversized = false;
  Worker w = spawn_worker(*r.disk, lim, true, body);
  r.pid = w.pid;
  r.fd = w.fd;
  r.deadline = Clock::now() + std::chrono::seconds(lim.timeout);
}

// Reaps R's worker (killing it first if KILL) and applies its result.
void reap(Run &r, bool kill_it, const SandboxLimits &lim) {
  if (kill_it) kill(r.pid, SIGKILL);
  int status = 0;
  for (;;) {
    pid_t w = waitpid(r.pid, &status, kill_it ? 0 : WNOHANG);
    if (w == r.pid || (w < 0 && errno != EINTR)) break;
    if (w == 0) {
      // Closed its pipe but still running: give it until its deadline.
      if (Clock::now() >= r.deadline) {
        r.timed_out = true;
        kill(r.pid, SIGKILL);
        kill_it = true;
      } else {
        usleep(1000);
      }
    }
  }
  close(r.fd);
  r.fd = -1;
  r.pid = -1;
  collect(r, status, lim);
}

}  // namespace

std::vector<DiskMap> map_disks_sandboxed(const std::vector<DiskOpener> &disks, const SandboxLimits &lim) {
  std::vector<Run> runs(disks.size());
  for (size_t i = 0; i < disks.size(); i++) {
    runs[i].disk = &disks[i];
    runs[i].map.size = disks[i].size;
  }
  // Whatever happens, no worker outlives this call.
  struct Killer {
    std::vector<Run> &runs;
    ~Killer() {
      for (auto &r : runs)
        if (r.pid > 0) {
          kill(r.pid, SIGKILL);
          waitpid(r.pid, nullptr, 0);
          close(r.fd);
        }
    }
  } killer{runs};

  std::vector<char> chunk(1 << 20);
  for (;;) {
    for (auto &r : runs)
      if (!r.finished && r.pid < 0) start_next(r, lim);
    std::vector<pollfd> pfds;
    std::vector<Run *> who;
    auto now = Clock::now();
    auto next_deadline = Clock::time_point::max();
    for (auto &r : runs)
      if (r.pid > 0) {
        pfds.push_back({r.fd, POLLIN, 0});
        who.push_back(&r);
        next_deadline = std::min(next_deadline, r.deadline);
      }
    if (pfds.empty()) break;
    auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(next_deadline - now).count() + 1;
    int n = poll(pfds.data(), pfds.size(), int(std::clamp<long long>(wait_ms, 0, 60000)));
    if (n < 0 && errno != EINTR) throw_errno("poll");
    for (size_t i = 0; n > 0 && i < pfds.size(); i++) {
      Run &r = *who[i];
      if (!(pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = read(r.fd, chunk.data(), chunk.size());
      if (got < 0 && errno == EINTR) continue;
      if (got > 0) {
        r.buf.append(chunk.data(), size_t(got));
        if (r.buf.size() > MAX_RESULT) {
          r.oversized = true;
          r.buf.clear();
          reap(r, true, lim);
        }
        continue;
      }
      reap(r, false, lim);  // end of its results
    }
    now = Clock::now();
    for (auto &r : runs)
      if (r.pid > 0 && now >= r.deadline) {
        r.timed_out = true;
        reap(r, true, lim);
      }
  }
  std::vector<DiskMap> out;
  for (auto &r : runs) {
    if (!r.fatal.empty()) throw Error(r.fatal, EIO);
    out.push_back(std::move(r.map));
  }
  return out;
}

}  // namespace hexz::fs
