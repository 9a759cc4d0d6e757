#include "overlay-lock.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "error.h"
#include "process-name.h"
#include "unique-fd.h"
#include "util.h"

namespace hexz {

namespace {

// The byte the holder's record lock covers.
struct flock pid_byte(short type) {
  struct flock fl = {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 1;
  return fl;
}

}  // namespace

std::optional<OverlayHolder> overlay_holder(int fd) {
  struct flock fl = pid_byte(F_WRLCK);
  if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
    return OverlayHolder{fl.l_pid > 0 ? fl.l_pid : 0, fl.l_type == F_WRLCK};
  // No record lock: a server between .get_ready and .after_fork, or one
  // whose record lock could not be taken.  Only a writer's flock is seen
  // here (a shared probe does not conflict with a reader's).
  if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return OverlayHolder{0, true};
    return std::nullopt;
  }
  flock(fd, LOCK_UN);
  return std::nullopt;
}

std::optional<OverlayHolder> overlay_holder(const std::string &path, bool must_exist) {
  UniqueFd fd;
  try {
    fd = open_regular(path, O_RDONLY, "an overlay");
  } catch (const Error &e) {
    if (e.err() == ENOENT && !must_exist) return std::nullopt;
    throw;
  }
  return overlay_holder(fd.get());
}

std::string describe_holder(const OverlayHolder &h) {
  return h.pid > 0 ? describe_process(h.pid) : "another process";
}

namespace {

[[noreturn]] void throw_in_use(const std::string &name, const std::optional<OverlayHolder> &h) {
  throw Error(name + ": overlay in use by " + describe_holder(h ? *h : OverlayHolder{}) +
                  (h && !h->exclusive ? ", which serves it read-only" : "") + "; stop it first",
              EBUSY);
}

}  // namespace

void check_overlay_free(const std::string &path, bool must_exist) {
  if (auto h = overlay_holder(path, must_exist)) throw_in_use(path, h);
}

void lock_overlay(int fd, bool exclusive, const std::string &name) {
  if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return;
  if (errno != EWOULDBLOCK) throw_errno(name + ": flock");
  // Ask on a descriptor of our own: FD's flock request failed, so it holds
  // none, but the probe must not touch it either way.
  UniqueFd probe(open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  throw_in_use(name, probe ? overlay_holder(probe.get()) : std::nullopt);
}

bool record_overlay_holder(int fd, bool writable) {
  struct flock fl = pid_byte(writable ? F_WRLCK : F_RDLCK);
  return fcntl(fd, F_SETLK, &fl) == 0;
}

}  // namespace hexz
