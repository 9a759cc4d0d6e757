// Who holds an overlay.  An nbdkit serving an overlay through the hexz-cow
// filter takes two advisory locks on the overlay file (docs/format.md 2.4):
//
//   flock(2), exclusive when the overlay is writable, shared otherwise: the
//     exclusion.  The filter takes it in .get_ready, before nbdkit forks into
//     the background, so that a second nbdkit on the same overlay fails at
//     start-up with the error on its standard error.  A flock belongs to the
//     open file description, which the forked server inherits.
//   a POSIX record lock (fcntl F_SETLK) on byte 0, taken in .after_fork by
//     the process that serves: F_GETLK reports its pid to anyone asking.  A
//     record lock belongs to a process and disappears with it, so the pid
//     can never be stale, as a pid written into a file could be.
//
// Record locks are released when their process closes *any* descriptor of
// the file, so the serving process must keep every descriptor it opens on
// the overlay until it exits (the filter does: it opens the overlay once
// per nbdkit).
#pragma once
#include <optional>
#include <string>
#include <sys/types.h>

namespace hexz {

struct OverlayHolder {
  pid_t pid = 0;           // 0: not known (not yet recorded, or not visible here)
  bool exclusive = false;  // a writer (else a read-only server)
};

// The holder of the overlay open as FD (a descriptor holding no lock of its
// own), or nullopt if nobody holds it.  Takes no lock that outlives the call.
std::optional<OverlayHolder> overlay_holder(int fd);
// The same for PATH; nullopt also when PATH does not exist (unless
// MUST_EXIST: then Error).  Never blocks on a FIFO.  Throws Error when PATH
// exists but cannot be opened or is not a regular file.
std::optional<OverlayHolder> overlay_holder(const std::string &path, bool must_exist = false);

// "pid 1234 (nbdkit ...)" (process-name.h), or "another process" when the
// pid is not known.
std::string describe_holder(const OverlayHolder &h);

// Throws Error(EBUSY) "PATH: overlay in use by pid N (...); stop it first"
// if an nbdkit holds the overlay PATH (checked before starting one).  A
// missing PATH is free, unless MUST_EXIST (then Error naming it).
void check_overlay_free(const std::string &path, bool must_exist = false);

// Takes the flock of a writer (EXCLUSIVE) or reader on FD, the overlay NAME.
// Throws the same Error as check_overlay_free if another process holds a
// conflicting one.
void lock_overlay(int fd, bool exclusive, const std::string &name);

// Records this process as the holder (the record lock on byte 0): a write
// lock when FD is open for writing, else a read lock.  Returns false (with
// errno set) if the lock cannot be taken; the flock still excludes.
bool record_overlay_holder(int fd, bool writable);

}  // namespace hexz
