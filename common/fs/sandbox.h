// Parsing guest disks in throwaway, confined worker processes.
//
// Partition tables and filesystems are written by the guest: hostile input
// for libext2fs, The Sleuth Kit and hexz's own parsers, none of which is
// built for it (TSK deadlocks on some ISO 9660 images, see sleuthkit#928).
// libguestfs answers this with an appliance VM; hexz-diff answers it with a
// forked, confined worker (worker.h) per partition table and per
// filesystem, killed by the parent's watchdog when it does not answer
// within the timeout (wall-clock time: a deadlocked parser uses no CPU).
// It sends its result (wire.h) and exits.  The parent decodes the result as
// hostile data (wire.h validates every count, string and range).  A worker
// that crashes, hangs, exceeds a limit, is killed by the filter or answers
// garbage costs only its own partition, which is reported as DAMAGED with a
// message saying what happened; the other partitions resolve.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fsmap.h"
#include "worker.h"

namespace hexz {
class Source;
}

namespace hexz::fs {

// map_disk for every disk, each partition table and each filesystem parsed
// in a confined worker (the disks' workers run at the same time).  Throws
// Error only when a disk itself cannot be read (as map_disk does).
std::vector<DiskMap> map_disks_sandboxed(const std::vector<DiskOpener> &disks, const SandboxLimits &limits = {});

// For the test suite only: with HEXZ_DIFF_SANDBOX_TEST (SANDBOX_TEST_ENV)
// set to syscall:N in the environment, the worker for partition N (0: the
// whole disk) makes a system call the filter forbids (socket(2)) after it
// has confined itself, which proves that the filter is loaded and that its
// death is reported for that partition alone.  With open:N it tries to open
// /etc/passwd instead and aborts (reported as a crash) if that succeeds,
// which proves that it has no filesystem access.  With hang:N it never
// answers (as a deadlocked parser), which proves that the watchdog kills
// it.  The same with the prefix content- (content-syscall:N, ...) acts in
// the worker that reads files' contents and extended attributes of
// partition N (ext-files.h), at its first request.

}  // namespace hexz::fs
