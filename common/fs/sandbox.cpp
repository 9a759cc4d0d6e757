#include "sandbox.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <new>
#include <poll.h>
#include <seccomp.h>
#include <set>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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

// A worker's result is a sequence of records: tag (1 byte), length (8
// bytes), payload.
enum Tag : char {
  TABLE = 'T',      // encode_table
  FSMAP = 'F',      // encode_fsmap
  PROBED = 'P',     // the probed filesystem type, sent before parsing starts
  READ_ERROR = 'X', // the disk itself cannot be read: message
  FAILED = 'E',     // the parser threw: message
  NO_MEMORY = 'M',  // the parser ran out of memory
};

// What the parent accepts from one worker, at most.  A real map of a
// filesystem with millions of files stays far below.
constexpr size_t MAX_RESULT = size_t(1) << 31;

// Exit codes of a worker that could not start; never reached by a worker
// that runs the parser.
constexpr int EXIT_NO_CONFINE = 90, EXIT_NO_DISK = 91;

void write_all(int fd, const void *p, size_t n) {
  auto *c = static_cast<const char *>(p);
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(EXIT_NO_DISK);  // the parent is gone
    c += w;
    n -= size_t(w);
  }
}

void send(int fd, Tag tag, const std::string &payload) {
  char head[9];
  head[0] = tag;
  uint64_t len = payload.size();
  memcpy(head + 1, &len, 8);
  write_all(fd, head, sizeof head);
  write_all(fd, payload.data(), payload.size());
}

std::set<int> open_fds() {
  std::set<int> fds;
  DIR *d = opendir("/proc/self/fd");
  if (!d) return fds;
  int self = dirfd(d);
  while (struct dirent *e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd != self) fds.insert(fd);
  }
  closedir(d);
  return fds;
}

bool set_limit(int resource, rlim_t soft, rlim_t hard) {
  struct rlimit r = {soft, hard};
  return setrlimit(resource, &r) == 0;
}

// The seccomp allow-list.  Everything else kills the worker.
//
// In the sanitizer build (ASan/UBSan), the runtimes make system calls of
// their own that no allow-list of the parsers' needs can predict, so there
// the default is to allow, and what a parser must never do (network,
// running programs, new processes, signals to others, tracing) kills the
// worker; paths still cannot be opened.  The release build is the
// allow-list below.
bool load_filter() {
#if defined(__SANITIZE_ADDRESS__)
  const uint32_t default_action = SCMP_ACT_ALLOW;
#else
  const uint32_t default_action = SCMP_ACT_KILL_PROCESS;
#endif
  scmp_filter_ctx ctx = seccomp_init(default_action);
  if (!ctx) return false;
  bool ok = true;
  auto rule = [&](uint32_t action, int nr, unsigned n = 0, scmp_arg_cmp a = {}) {
    if (nr < 0) return;  // not a system call on this architecture
    if (action == default_action) return;  // libseccomp refuses such rules
    int r = n ? seccomp_rule_add(ctx, action, nr, 1, a) : seccomp_rule_add(ctx, action, nr, 0);
    if (r != 0) ok = false;
  };
  // I/O on the descriptors the worker kept (its disk and its pipe).
  for (int nr : {SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
                 SCMP_SYS(preadv), SCMP_SYS(preadv2), SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(fcntl),
                 SCMP_SYS(fstat), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
                 SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
                 SCMP_SYS(getsockopt)})
    rule(SCMP_ACT_ALLOW, nr);
  // Memory, never executable.
  for (int nr : {SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise)}) rule(SCMP_ACT_ALLOW, nr);
  for (int nr : {SCMP_SYS(mmap), SCMP_SYS(mprotect)})
    rule(SCMP_ACT_ALLOW, nr, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
  // Threads' primitives, signals of its own, clocks, identity, exit.
  for (int nr : {SCMP_SYS(futex), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction),
                 SCMP_SYS(sigaltstack), SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday),
                 SCMP_SYS(time), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(getpid),
                 SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
                 SCMP_SYS(getrandom), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
                 SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group)})
    rule(SCMP_ACT_ALLOW, nr);
  rule(SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_EQ, scmp_datum_t(getpid())));  // abort()
  rule(SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, SCMP_A2(SCMP_CMP_EQ, 0));                    // getrlimit only
  // No filesystem: paths cannot be opened or looked at (libraries that try,
  // e.g. for a configuration file, see EACCES and go on).
  for (int nr : {SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(creat), SCMP_SYS(stat),
                 SCMP_SYS(lstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(access), SCMP_SYS(faccessat),
                 SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(readlinkat)})
    rule(SCMP_ACT_ERRNO(EACCES), nr);
  rule(SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl));
#if defined(__SANITIZE_ADDRESS__)
  for (int nr : {SCMP_SYS(socket), SCMP_SYS(socketpair), SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen),
                 SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork),
                 SCMP_SYS(vfork), SCMP_SYS(ptrace), SCMP_SYS(kill), SCMP_SYS(unlink), SCMP_SYS(unlinkat),
                 SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(mkdir), SCMP_SYS(mkdirat)})
    rule(SCMP_ACT_KILL_PROCESS, nr);
#endif
  ok = ok && seccomp_load(ctx) == 0;
  seccomp_release(ctx);
  return ok;
}

// Everything but the filter's own allocation happens before it is loaded.
bool confine(const SandboxLimits &lim) {
  bool ok = true;
#if !defined(__SANITIZE_ADDRESS__)
  // (AddressSanitizer reserves terabytes of shadow address space.)
  ok = ok && set_limit(RLIMIT_AS, lim.memory, lim.memory);
#endif
  ok = ok && set_limit(RLIMIT_CPU, lim.timeout, lim.timeout + 1);
  ok = ok && set_limit(RLIMIT_FSIZE, 0, 0) && set_limit(RLIMIT_CORE, 0, 0);
  if (geteuid() == 0) {
    constexpr uid_t NOBODY = 65534;
    ok = ok && setgroups(0, nullptr) == 0 && setresgid(NOBODY, NOBODY, NOBODY) == 0 &&
         setresuid(NOBODY, NOBODY, NOBODY) == 0;
  }
  ok = ok && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0;
  return ok && load_filter();
}

// The test hook (sandbox.h): a forbidden system call, an open or a hang
// before mapping partition NUMBER.
void test_hook(unsigned number) {
  const char *t = getenv(SANDBOX_TEST_ENV);
  if (!t) return;
  if (strncmp(t, "syscall:", 8) == 0 && unsigned(atoi(t + 8)) == number) syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
  if (strncmp(t, "hang:", 5) == 0 && unsigned(atoi(t + 5)) == number)
    for (;;) sleep(3600);  // as a deadlocked parser: no answer, no CPU
  if (strncmp(t, "open:", 5) == 0 && unsigned(atoi(t + 5)) == number) {
    int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) abort();  // the filter let a path be opened: report a crash
  }
}

using Body = std::function<void(Source &, int)>;

// Forks a worker that opens DISK, confines itself and runs BODY(disk,
// result fd).  Returns its pid; *FD is the read end of its pipe.
pid_t spawn(const DiskOpener &disk, const SandboxLimits &lim, const Body &body, int *fd) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) throw_errno("pipe");
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    errno = e;
    throw_errno("fork");
  }
  if (pid > 0) {
    close(p[1]);
    *fd = p[0];
    return pid;
  }
  // The worker.  It never returns into the caller's code and never runs
  // the parent's destructors (it leaves through _exit).
  close(p[0]);
  int out = p[1];
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != parent) _exit(EXIT_NO_DISK);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) signal(s, SIG_DFL);
  try {
    std::set<int> before = open_fds();
    std::unique_ptr<Source> src;
    try {
      src = disk.open();
    } catch (const std::exception &e) {
      send(out, READ_ERROR, e.what());
      _exit(0);
    }
    // Keep what opening the disk created and the pipe; standard input,
    // output and error become /dev/null (a parser has nothing to say to
    // the terminal).
    std::set<int> keep = open_fds();
    for (int fd : before) keep.erase(fd);
    keep.insert(out);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) _exit(EXIT_NO_CONFINE);
#if defined(__SANITIZE_ADDRESS__)
    const int last_std = 1;  // keep standard error for the sanitizer's reports
#else
    const int last_std = 2;
#endif
    for (int fd = 0; fd <= last_std; fd++)
      if (!keep.count(fd) && dup2(null, fd) < 0) _exit(EXIT_NO_CONFINE);
    for (int fd : open_fds())
      if (fd > 2 && !keep.count(fd)) close(fd);
    if (!confine(lim)) _exit(EXIT_NO_CONFINE);
    body(*src, out);
    _exit(0);  // without closing the disk: the filter does not allow shutdown(2)
  } catch (const std::bad_alloc &) {
    send(out, NO_MEMORY, "");
  } catch (const std::exception &e) {
    send(out, FAILED, e.what());
  }
  _exit(0);
}

struct Record {
  Tag tag;
  std::string payload;
};

// The complete records at the start of BUF (a killed worker's last one
// may be cut short).
std::vector<Record> records(const std::string &buf) {
  std::vector<Record> v;
  size_t pos = 0;
  while (buf.size() - pos >= 9) {
    uint64_t len;
    memcpy(&len, buf.data() + pos + 1, 8);
    if (len > buf.size() - pos - 9) break;
    v.push_back({Tag(buf[pos]), buf.substr(pos + 9, size_t(len))});
    pos += 9 + size_t(len);
  }
  return v;
}

std::string signal_name(int sig) {
  const char *d = sigdescr_np(sig);
  return d ? std::string(d) + " (signal " + std::to_string(sig) + ")" : "signal " + std::to_string(sig);
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
  if (r.timed_out) return "timed out on untrusted data (no answer within " + std::to_string(lim.timeout) + " s); killed";
  if (r.oversized) return "sent more than " + std::to_string(MAX_RESULT >> 20) + " MiB of results; killed";
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    if (sig == SIGSYS) return "was killed by the sandbox: it made a forbidden system call on untrusted data";
    if (sig == SIGXCPU || sig == SIGKILL)
      return "exceeded its CPU time limit (" + std::to_string(lim.timeout) + " s) on untrusted data";
    return "crashed on untrusted data: " + signal_name(sig);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_NO_CONFINE) return "could not confine itself; not run";
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return "exited with status " + std::to_string(WEXITSTATUS(status)) + " on untrusted data";
  return "";
}

std::string memory_message(const SandboxLimits &lim) {
  return "ran out of memory on untrusted data (limit " + std::to_string(lim.memory >> 20) + " MiB)";
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
        if (rec.tag == NO_MEMORY) why = memory_message(lim);
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
      if (rec.tag == NO_MEMORY) why = memory_message(lim);
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
  Body body;
  if (!r.have_table) {
    r.part = nullptr;
    body = [](Source &src, int out) {
      PartitionTable t;
      try {
        t = read_partition_table(src);
      } catch (const Error &e) {
        send(out, READ_ERROR, e.what());
        return;
      }
      send(out, TABLE, encode_table(t));
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
      send(out, PROBED, type);
      test_hook(part.number);
      send(out, FSMAP, encode_fsmap(map_partition(src, part)));
    };
  } else {
    r.finished = true;
    return;
  }
  r.timed_out = r.oversized = false;
  r.pid = spawn(*r.disk, lim, body, &r.fd);
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
