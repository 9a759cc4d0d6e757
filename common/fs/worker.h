// A confined worker process: the means sandbox.h (mapping partition tables
// and filesystems) and ext-files.h (reading files' contents and extended
// attributes) use to run a parser of guest data.
//
// spawn_worker forks a process that opens its own connection to the disk
// (DiskOpener::open, before confinement), keeps only that and one end of a
// socket pair to the parent (standard input, output and error become
// /dev/null), and confines itself:
//   - drops to nobody (uid/gid 65534, no supplementary groups) when run as
//     root, sets no-new-privileges and is not dumpable,
//   - gets rlimits on address space, CPU time (unless the caller bounds each
//     request with its own watchdog instead), file size and core size,
//   - loads a seccomp allow-list (libseccomp): I/O on the descriptors it
//     has, memory management without PROT_EXEC, clocks, exit.  Opening or
//     stat-ing any path fails with EACCES; any other system call kills it.
// Then it runs the caller's body and exits through _exit (never into the
// caller's code or destructors).
//
// Both directions carry records: a tag (1 byte), a length (8 bytes, host
// order: both ends are one program) and the payload.  What a worker sends
// is hostile: the parent bounds every length before it reads the payload,
// and decodes payloads with wire.h.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <sys/types.h>

namespace hexz {
class Source;
}

namespace hexz::fs {

struct SandboxLimits {
  unsigned timeout = 600;            // seconds of wall-clock (and CPU) time per worker or request
  uint64_t memory = uint64_t(4) << 30;  // bytes of address space per worker
};

// A disk as a worker reaches it: OPEN runs in the worker, before it
// confines itself, and returns a Source of its own (for NBD a new
// connection: the parent's handle stays the parent's).  SIZE is the disk's
// size as the parent knows it.
struct DiskOpener {
  std::function<std::unique_ptr<Source>()> open;
  uint64_t size = 0;
};

// Record tags every worker may send.
enum WorkerTag : char {
  READ_ERROR = 'X',  // the disk itself cannot be read: message
  FAILED = 'E',      // the parser threw: message
  NO_MEMORY = 'M',   // the parser ran out of memory
};

// Exit codes of a worker that could not start; never reached by a worker
// that runs its body.
inline constexpr int WORKER_NO_CONFINE = 90, WORKER_NO_DISK = 91;

// BODY(disk, fd) runs in the confined worker; FD is its end of the socket
// pair.  An exception escaping BODY is sent as FAILED (NO_MEMORY for
// bad_alloc); one escaping DiskOpener::open as READ_ERROR.
using WorkerBody = std::function<void(Source &, int)>;

struct Worker {
  pid_t pid = -1;
  int fd = -1;  // the parent's end of the socket pair
};

// Forks a worker (above).  With CPU_LIMIT false, RLIMIT_CPU is left alone:
// for a worker that serves many requests, each bounded by the parent's
// watchdog.  Throws Error if the process cannot be made.
Worker spawn_worker(const DiskOpener &disk, const SandboxLimits &lim, bool cpu_limit, const WorkerBody &body);

// The record framing: RECORD_HEAD bytes of tag and length before the payload.
inline constexpr size_t RECORD_HEAD = 9;
std::string record_head(char tag, uint64_t payload_length);
// The payload length a record head at HEAD (RECORD_HEAD bytes) announces.
uint64_t record_length(const char *head);

// In the worker: sends one record, or leaves (_exit) if the parent is gone.
void send_record(int fd, char tag, const std::string &payload);
// In the worker: reads one record of at most MAX payload bytes; false at
// the end of the parent's requests (or a malformed one).
bool receive_record(int fd, size_t max, char *tag, std::string *payload);

// Why a worker that ended with STATUS gave no usable result, or "" if it
// exited normally: "was killed by the sandbox: ...", "crashed on untrusted
// data: Segmentation fault (signal 11)", ...
std::string worker_death(int status, const SandboxLimits &lim);
std::string worker_memory_message(const SandboxLimits &lim);
std::string worker_timeout_message(const SandboxLimits &lim);

// For the test suite only (sandbox.h: SANDBOX_TEST_ENV): in a confined
// worker, makes the forbidden call, the open or the hang that
// HEXZ_DIFF_SANDBOX_TEST asks for at STAGE ("" for mapping, "content-" for
// reading files' contents) of partition NUMBER.
void sandbox_test_hook(const char *stage, unsigned number);
inline constexpr const char *SANDBOX_TEST_ENV = "HEXZ_DIFF_SANDBOX_TEST";

}  // namespace hexz::fs
