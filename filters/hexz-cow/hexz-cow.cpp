// nbdkit-hexz-cow-filter: a durable copy-on-write overlay at 4 KiB
// granularity (see nbdkit-hexz-cow-filter.pod and docs/format.md, section 2).
// This file holds only the nbdkit callbacks: parameters, the per-connection
// handle, and the translation of exceptions into nbdkit errors.  The work is
// done by Cow (cow.h).

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include <nbdkit-filter.h>

#include "base-check.h"
#include "remote-options.h"
#include "remote-url.h"
#include "cow.h"
#include "error.h"
#include "overlay-meta.h"

namespace {

using hexz_cow::Cow;

// Parameters.
std::string overlay_path;  // overlay=; empty: ephemeral
std::string meta_path;     // meta=
std::string plugin_file;   // the plugin's file=, seen on its way past
bool force = false;        // force=true

// The one overlay shared by every connection to the disk export.
std::unique_ptr<Cow> cow;

// The export that is a snapshot's memory image: never written through us.
constexpr const char MEMORY_EXPORT[] = "memory";

struct Handle {
  bool memory;  // the memory export: everything passes straight through
};

// Runs FN, turning an exception into nbdkit_error + *ERR (or errno) and -1.
template <class Fn>
int guarded(int *err, Fn &&fn) {
  try {
    fn();
    return 0;
  } catch (const hexz::Error &e) {
    nbdkit_error("%s", e.what());
    // nbdkit sends EACCES as EINVAL (NBD has no EACCES): a permission
    // problem must reach the client as one.
    int code = e.err() == EACCES ? EPERM : e.err();
    if (err) *err = code;
    errno = code;
  } catch (const std::exception &e) {
    nbdkit_error("hexz-cow: %s", e.what());
    if (err) *err = EIO;
    errno = EIO;
  } catch (...) {
    nbdkit_error("hexz-cow: unexpected exception");
    if (err) *err = EIO;
    errno = EIO;
  }
  return -1;
}

std::string absolute(const char *path) {
  char *p = nbdkit_absolute_path(path);
  if (!p) return {};
  std::string s(p);
  free(p);
  return s;
}

int cow_config(nbdkit_next_config *next, nbdkit_backend *nxdata, const char *key, const char *value) {
  if (strcmp(key, "overlay") == 0) {
    overlay_path = absolute(value);
    return overlay_path.empty() ? -1 : 0;
  }
  if (strcmp(key, "meta") == 0) {
    meta_path = absolute(value);
    return meta_path.empty() ? -1 : 0;
  }
  if (strcmp(key, "force") == 0) {
    int r = nbdkit_parse_bool(value);
    if (r == -1) return -1;
    force = r;
    return 0;
  }
  // The plugin's own parameters pass by; file= or url= tells us which
  // snapshot we sit on (a URL is kept as it is, and is what the .base record
  // stores), and the remote settings let us open it as the plugin does.
  try {
    if (hexz::is_url(value) && (strcmp(key, "file") == 0 || strcmp(key, "url") == 0))
      plugin_file = value;
    else if (strcmp(key, "file") == 0)
      plugin_file = absolute(value);
    else if (strcmp(key, "cache-dir") != 0)  // the plugin's cache is enough
      hexz::default_remote_options().set(key, value);
  } catch (const hexz::Error &) {
    // A bad value: the plugin reports it.
  }
  return next(nxdata, key, value);
}

int cow_config_complete(nbdkit_next_config_complete *next, nbdkit_backend *nxdata) {
  if (!meta_path.empty() && overlay_path.empty()) {
    nbdkit_error("hexz-cow: meta=%s needs overlay=: an ephemeral overlay has no .meta", meta_path.c_str());
    return -1;
  }
  // Never a side file of another overlay (docs/format.md 2.2).
  if (guarded(nullptr, [] {
        if (overlay_path.empty()) return;
        hexz::check_overlay_name(overlay_path);
        if (!meta_path.empty()) hexz::check_meta_owner(overlay_path, meta_path);
      }) == -1)
    return -1;
  return next(nxdata);
}

// Opens and locks the overlay at start-up, so that bad side files, an
// overlay on the wrong snapshot and an overlay another nbdkit serves stop
// nbdkit before it serves anything (and before it forks into the
// background: errors here reach the user's terminal).
int cow_get_ready(int) {
  return guarded(nullptr, [] {
    hexz_cow::CowConfig cfg;
    cfg.overlay = overlay_path;
    cfg.meta = meta_path;
    // Check everything before writing the record: a refused start leaves
    // .meta and .base as they were.
    std::optional<hexz::BaseRecord> base;
    if (!overlay_path.empty()) base = hexz_cow::snapshot_record(plugin_file);
    if (base) {
      hexz_cow::check_base_record(overlay_path, *base, force);
      cfg.expected_size = base->disk_size;
    }
    cow = std::make_unique<Cow>(cfg);
    if (!cow->writable() && !cow->read_only_reason().empty())
      nbdkit_debug("hexz-cow: serving read-only: %s", cow->read_only_reason().c_str());
    if (base && cow->writable()) hexz_cow::update_base_record(overlay_path, *base);
  });
}

// In the process that serves (nbdkit may have forked since .get_ready): make
// it the overlay's recorded holder, whose pid the tools report.
int cow_after_fork(nbdkit_backend *) {
  if (!cow) return 0;
  try {
    cow->record_holder();
  } catch (const std::exception &e) {
    nbdkit_debug("hexz-cow: %s; other tools will not know this process's pid", e.what());
  }
  return 0;
}

// After the last connection: make everything durable.
void cow_cleanup(nbdkit_backend *) {
  if (cow) guarded(nullptr, [] { cow->flush(); });
}

void cow_unload() { cow.reset(); }

void *cow_open(nbdkit_next_open *next, nbdkit_context *context, int, const char *exportname, int) {
  // The plugin is only ever read: writes go to the overlay.
  if (next(context, 1, exportname) == -1) return nullptr;
  return new (std::nothrow) Handle{strcmp(exportname, MEMORY_EXPORT) == 0};
}

void cow_close(void *handle) { delete static_cast<Handle *>(handle); }

int cow_prepare(nbdkit_next *next, void *handle, int) {
  auto *h = static_cast<Handle *>(handle);
  if (h->memory) return 0;
  int64_t size = next->get_size(next);
  if (size == -1) return -1;
  return guarded(nullptr, [&] { cow->attach(uint64_t(size)); });
}

// What a client wrote through this connection is durable once it is gone.
int cow_finalize(nbdkit_next *, void *handle) {
  if (static_cast<Handle *>(handle)->memory) return 0;
  return guarded(nullptr, [] { cow->flush(); });
}

int cow_can_write(nbdkit_next *, void *handle) {
  return !static_cast<Handle *>(handle)->memory && cow->writable();
}

int cow_can_flush(nbdkit_next *next, void *handle) {
  return static_cast<Handle *>(handle)->memory ? next->can_flush(next) : 1;
}

int cow_can_fua(nbdkit_next *next, void *handle) {
  return static_cast<Handle *>(handle)->memory ? next->can_fua(next) : NBDKIT_FUA_NATIVE;
}

int cow_can_trim(nbdkit_next *, void *handle) { return !static_cast<Handle *>(handle)->memory; }

int cow_can_zero(nbdkit_next *next, void *handle) {
  return static_cast<Handle *>(handle)->memory ? next->can_zero(next) : NBDKIT_ZERO_NATIVE;
}

// Zeroing only punches holes (plus at most two block read-modify-writes).
int cow_can_fast_zero(nbdkit_next *next, void *handle) {
  return static_cast<Handle *>(handle)->memory ? next->can_fast_zero(next) : 1;
}

int cow_can_extents(nbdkit_next *next, void *handle) {
  return static_cast<Handle *>(handle)->memory ? next->can_extents(next) : 1;
}

// Every connection sees the same overlay, and a flush covers all of them.
int cow_can_multi_conn(nbdkit_next *next, void *handle) {
  return static_cast<Handle *>(handle)->memory ? next->can_multi_conn(next) : 1;
}

int cow_pread(nbdkit_next *next, void *handle, void *buf, uint32_t count, uint64_t offset, uint32_t flags,
              int *err) {
  if (static_cast<Handle *>(handle)->memory) return next->pread(next, buf, count, offset, flags, err);
  return guarded(err, [&] { cow->read(next, buf, count, offset); });
}

// The memory export is read-only; nbdkit does not even send writes since
// can_write is false, but refuse them here too in case.
int refuse_memory(int *err) {
  nbdkit_error("hexz-cow: the memory export is read-only");
  *err = EROFS;
  return -1;
}

int cow_pwrite(nbdkit_next *next, void *handle, const void *buf, uint32_t count, uint64_t offset, uint32_t flags,
               int *err) {
  if (static_cast<Handle *>(handle)->memory) return refuse_memory(err);
  return guarded(err, [&] {
    cow->write(next, buf, count, offset);
    if (flags & NBDKIT_FLAG_FUA) cow->flush();
  });
}

int cow_zero(nbdkit_next *next, void *handle, uint32_t count, uint64_t offset, uint32_t flags, int *err) {
  if (static_cast<Handle *>(handle)->memory) return refuse_memory(err);
  return guarded(err, [&] {
    cow->zero(next, count, offset);
    if (flags & NBDKIT_FLAG_FUA) cow->flush();
  });
}

// Trim is recorded exactly like zero: the blocks read as zeroes afterwards.
int cow_trim(nbdkit_next *next, void *handle, uint32_t count, uint64_t offset, uint32_t flags, int *err) {
  return cow_zero(next, handle, count, offset, flags, err);
}

int cow_flush(nbdkit_next *next, void *handle, uint32_t flags, int *err) {
  if (static_cast<Handle *>(handle)->memory) return next->flush(next, flags, err);
  return guarded(err, [] { cow->flush(); });
}

int cow_extents(nbdkit_next *next, void *handle, uint32_t count, uint64_t offset, uint32_t flags,
                nbdkit_extents *extents, int *err) {
  if (static_cast<Handle *>(handle)->memory) return next->extents(next, count, offset, flags, extents, err);
  return guarded(err, [&] { cow->extents(next, count, offset, flags, extents); });
}

nbdkit_filter make_filter() {
  auto f = nbdkit_filter();
  f.name = "hexz-cow";
  f.longname = "hexz durable copy-on-write filter";
  f.description = "keeps writes in a sparse 4 KiB-granular overlay file with a .meta index";
  f.config = cow_config;
  f.config_complete = cow_config_complete;
  f.config_help =
      "overlay=<FILE>      Persistent overlay file (default: ephemeral in $TMPDIR).\n"
      "meta=<FILE>         Modified-block index (default: the overlay path + .meta).\n"
      "force=true          Reopen an overlay on a snapshot other than its recorded base.";
  f.get_ready = cow_get_ready;
  f.after_fork = cow_after_fork;
  f.cleanup = cow_cleanup;
  f.unload = cow_unload;
  f.open = cow_open;
  f.close = cow_close;
  f.prepare = cow_prepare;
  f.finalize = cow_finalize;
  f.can_write = cow_can_write;
  f.can_flush = cow_can_flush;
  f.can_fua = cow_can_fua;
  f.can_trim = cow_can_trim;
  f.can_zero = cow_can_zero;
  f.can_fast_zero = cow_can_fast_zero;
  f.can_extents = cow_can_extents;
  f.can_multi_conn = cow_can_multi_conn;
  f.pread = cow_pread;
  f.pwrite = cow_pwrite;
  f.zero = cow_zero;
  f.trim = cow_trim;
  f.flush = cow_flush;
  f.extents = cow_extents;
  return f;
}

nbdkit_filter filter = make_filter();

}  // namespace

NBDKIT_REGISTER_FILTER(filter)
