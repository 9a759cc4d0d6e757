#include "worker.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <new>
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
#include "source.h"

namespace hexz::fs {

namespace {

void write_all(int fd, const void *p, size_t n) {
  auto *c = static_cast<const char *>(p);
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(WORKER_NO_DISK);  // the parent is gone
    c += w;
    n -= size_t(w);
  }
}

bool read_all(int fd, void *p, size_t n) {
  auto *c = static_cast<char *>(p);
  while (n) {
    ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    c += r;
    n -= size_t(r);
  }
  return true;
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
  // A binary tree of the allowed calls rather than a list: a parser makes
  // tens of thousands of reads, each of which runs the filter.
  bool ok = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) == 0;
  auto rule = [&](uint32_t action, int nr, unsigned n = 0, scmp_arg_cmp a = {}) {
    if (nr < 0) return;  // not a system call on this architecture
    if (action == default_action) return;  // libseccomp refuses such rules
    int r = n ? seccomp_rule_add(ctx, action, nr, 1, a) : seccomp_rule_add(ctx, action, nr, 0);
    if (r != 0) ok = false;
  };
  // I/O on the descriptors the worker kept (its disk and its socket).
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
bool confine(const SandboxLimits &lim, bool cpu_limit) {
  bool ok = true;
#if !defined(__SANITIZE_ADDRESS__)
  // (AddressSanitizer reserves terabytes of shadow address space.)
  ok = ok && set_limit(RLIMIT_AS, lim.memory, lim.memory);
#endif
  if (cpu_limit) ok = ok && set_limit(RLIMIT_CPU, lim.timeout, lim.timeout + 1);
  ok = ok && set_limit(RLIMIT_FSIZE, 0, 0) && set_limit(RLIMIT_CORE, 0, 0);
  if (geteuid() == 0) {
    constexpr uid_t NOBODY = 65534;
    ok = ok && setgroups(0, nullptr) == 0 && setresgid(NOBODY, NOBODY, NOBODY) == 0 &&
         setresuid(NOBODY, NOBODY, NOBODY) == 0;
  }
  ok = ok && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0;
  return ok && load_filter();
}

std::string signal_name(int sig) {
  const char *d = sigdescr_np(sig);
  return d ? std::string(d) + " (signal " + std::to_string(sig) + ")" : "signal " + std::to_string(sig);
}

}  // namespace

std::string record_head(char tag, uint64_t payload_length) {
  std::string head(RECORD_HEAD, '\0');
  head[0] = tag;
  memcpy(head.data() + 1, &payload_length, 8);
  return head;
}

uint64_t record_length(const char *head) {
  uint64_t len;
  memcpy(&len, head + 1, 8);
  return len;
}

void send_record(int fd, char tag, const std::string &payload) {
  std::string head = record_head(tag, payload.size());
  write_all(fd, head.data(), head.size());
  write_all(fd, payload.data(), payload.size());
}

bool receive_record(int fd, size_t max, char *tag, std::string *payload) {
  char head[RECORD_HEAD];
  if (!read_all(fd, head, sizeof head)) return false;
  uint64_t len = record_length(head);
  if (len > max) return false;
  *tag = head[0];
  payload->resize(size_t(len));
  return read_all(fd, payload->data(), payload->size());
}

Worker spawn_worker(const DiskOpener &disk, const SandboxLimits &lim, bool cpu_limit, const WorkerBody &body) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("socketpair");
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(sv[0]);
    close(sv[1]);
    errno = e;
    throw_errno("fork");
  }
  if (pid > 0) {
    close(sv[1]);
    return {pid, sv[0]};
  }
  // The worker.  It never returns into the caller's code and never runs
  // the parent's destructors (it leaves through _exit).
  close(sv[0]);
  int out = sv[1];
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != parent) _exit(WORKER_NO_DISK);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) signal(s, SIG_DFL);
  try {
    std::set<int> before = open_fds();
    std::unique_ptr<Source> src;
    try {
      src = disk.open();
    } catch (const std::exception &e) {
      send_record(out, READ_ERROR, e.what());
      _exit(0);
    }
    // Keep what opening the disk created and the socket; standard input,
    // output and error become /dev/null (a parser has nothing to say to
    // the terminal).
    std::set<int> keep = open_fds();
    for (int fd : before) keep.erase(fd);
    keep.insert(out);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) _exit(WORKER_NO_CONFINE);
#if defined(__SANITIZE_ADDRESS__)
    const int last_std = 1;  // keep standard error for the sanitizer's reports
#else
    const int last_std = 2;
#endif
    for (int fd = 0; fd <= last_std; fd++)
      if (!keep.count(fd) && dup2(null, fd) < 0) _exit(WORKER_NO_CONFINE);
    for (int fd : open_fds())
      if (fd > 2 && !keep.count(fd)) close(fd);
    if (!confine(lim, cpu_limit)) _exit(WORKER_NO_CONFINE);
    body(*src, out);
    _exit(0);  // without closing the disk: the filter does not allow shutdown(2)
  } catch (const std::bad_alloc &) {
    send_record(out, NO_MEMORY, "");
  } catch (const std::exception &e) {
    send_record(out, FAILED, e.what());
  }
  _exit(0);
}

std::string worker_death(int status, const SandboxLimits &lim) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    if (sig == SIGSYS) return "was killed by the sandbox: it made a forbidden system call on untrusted data";
    if (sig == SIGXCPU || sig == SIGKILL)
      return "exceeded its CPU time limit (" + std::to_string(lim.timeout) + " s) on untrusted data";
    return "crashed on untrusted data: " + signal_name(sig);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == WORKER_NO_CONFINE) return "could not confine itself; not run";
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return "exited with status " + std::to_string(WEXITSTATUS(status)) + " on untrusted data";
  return "";
}

std::string worker_memory_message(const SandboxLimits &lim) {
  return "ran out of memory on untrusted data (limit " + std::to_string(lim.memory >> 20) + " MiB)";
}

std::string worker_timeout_message(const SandboxLimits &lim) {
  return "timed out on untrusted data (no answer within " + std::to_string(lim.timeout) + " s); killed";
}

void sandbox_test_hook(const char *stage, unsigned number) {
  const char *t = getenv(SANDBOX_TEST_ENV);
  if (!t) return;
  auto asks = [&](const char *what) {
    std::string key = std::string(stage) + what + ":";
    return strncmp(t, key.c_str(), key.size()) == 0 && unsigned(atoi(t + key.size())) == number;
  };
  if (asks("syscall")) syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
  if (asks("hang"))
    for (;;) sleep(3600);  // as a deadlocked parser: no answer, no CPU
  if (asks("open")) {
    int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) abort();  // the filter let a path be opened: report a crash
  }
}

}  // namespace hexz::fs
