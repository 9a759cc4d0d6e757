// Parsing guest disks in throwaway, confined worker processes.
//
// Partition tables and filesystems are written by the guest: hostile input
// for libext2fs, The Sleuth Kit and hexz's own parsers, none of which is
// built for it (TSK deadlocks on some ISO 9660 images, see sleuthkit#928).
// libguestfs answers this with an appliance VM; hexz-diff answers it with a
// forked worker per partition table and per filesystem that
//   - opens its own connection to the disk (a fresh libnbd handle, or the
//     raw image) and then keeps only that descriptor and a result pipe,
//   - drops to nobody (uid/gid 65534, no supplementary groups) when run as
//     root, sets no-new-privileges and is not dumpable,
//   - gets rlimits on address space, CPU time, file size and core size,
//   - loads a seccomp allow-list (libseccomp): I/O on the descriptors it
//     has, memory management without PROT_EXEC, clocks, exit.  Opening or
//     stat-ing any path fails with EACCES; any other system call kills it,
//   - and is killed by the parent's watchdog when it does not answer within
//     the timeout (wall-clock time: a deadlocked parser uses no CPU).
// It sends its result (wire.h) over the pipe and exits.  The parent
// decodes the result as hostile data (wire.h validates every count, string
// and range).  A worker that crashes, hangs, exceeds a limit, is killed by
// the filter or answers garbage costs only its own partition, which is
// reported as DAMAGED with a message saying what happened; the other
// partitions resolve.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fsmap.h"

namespace hexz {
class Source;
}

namespace hexz::fs {

struct SandboxLimits {
  unsigned timeout = 600;            // seconds of wall-clock (and CPU) time per worker
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

// map_disk for every disk, each partition table and each filesystem parsed
// in a confined worker (the disks' workers run at the same time).  Throws
// Error only when a disk itself cannot be read (as map_disk does).
std::vector<DiskMap> map_disks_sandboxed(const std::vector<DiskOpener> &disks, const SandboxLimits &limits = {});

// For the test suite only: with HEXZ_DIFF_SANDBOX_TEST=syscall:N in the
// environment, the worker for partition N (0: the whole disk) makes a system
// call the filter forbids (socket(2)) after it has confined itself, which
// proves that the filter is loaded and that its death is reported for that
// partition alone.  With open:N it tries to open /etc/passwd instead and
// aborts (reported as a crash) if that succeeds, which proves that it has
// no filesystem access.  With hang:N it never answers (as a deadlocked
// parser), which proves that the watchdog kills it.
inline constexpr const char *SANDBOX_TEST_ENV = "HEXZ_DIFF_SANDBOX_TEST";

}  // namespace hexz::fs
