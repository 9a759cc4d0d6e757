// nbdkit hexz plugin: serves the streams of a .st snapshot read-only.
//
// This file is only the glue to nbdkit: parameters, exports and callbacks.
// Reading lives in reader.cpp, the block cache in block-cache.cpp, decoding
// and verification in the core library.  Every callback catches everything:
// an exception must never unwind into nbdkit (which is C).
#include <config.h>

#include <cerrno>
#include <cinttypes>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#define NBDKIT_API_VERSION 2
#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL
#include <nbdkit-plugin.h>

#include "error.h"
#include "exports.h"
#include "reader.h"
#include "remote-options.h"
#include "remote-http.h"
#include "remote-storage.h"
#include "remote-url.h"
#include "util.h"

using hexz::StreamId;
using hexz_plugin::Reader;

namespace {

// Large enough for the working set of a typical guest's random reads, small
// enough to be harmless on a host serving a few snapshots.
constexpr uint64_t DEFAULT_CACHE_SIZE = 256ull << 20;
// Largest request we advertise (nbdkit's own limit is 64M).
constexpr uint32_t MAX_REQUEST = 32u << 20;

std::string file;  // a local path, or a URL (url=, or file=URL)
uint64_t cache_size = DEFAULT_CACHE_SIZE;
std::unique_ptr<Reader> reader;  // set up in .get_ready

// Per connection: which stream this export serves.
struct Handle {
  StreamId stream;
};

// Runs FN, turning any exception into nbdkit_error + errno + -1.
template <class Fn>
int guarded(Fn fn) {
  try {
    return fn();
  } catch (const hexz::Error &e) {
    nbdkit_error("%s", e.what());
    errno = e.err();
  } catch (const std::bad_alloc &) {
    nbdkit_error("hexz: out of memory");
    errno = ENOMEM;
  } catch (const std::exception &e) {
    nbdkit_error("hexz: %s", e.what());
    errno = EIO;
  } catch (...) {
    nbdkit_error("hexz: unexpected error");
    errno = EIO;
  }
  return -1;
}

StreamId stream_of(void *handle) { return static_cast<Handle *>(handle)->stream; }

void hexz_unload() {
  reader.reset();
}

int hexz_config(const char *key, const char *value) {
  return guarded([&] {
    std::string k = key;
    if ((k == "file" || k == "url") && !file.empty()) {
      nbdkit_error("hexz: give one snapshot: file= or url=, once");
      return -1;
    }
    if (k == "url" || (k == "file" && hexz::is_url(value))) {
      if (!hexz::is_url(value)) {
        nbdkit_error("hexz: url=%s: expected http://, https:// or s3://", value);
        return -1;
      }
      file = value;
    } else if (k == "file") {
      // nbdkit may chdir("/") when it daemonizes: keep an absolute path.
      char *p = nbdkit_realpath(value);
      if (!p) return -1;
      file = p;
      free(p);
    } else if (k == "cache-size" || k == "cache_size") {
      cache_size = hexz::parse_size(value, "cache-size");
    } else if (hexz::default_remote_options().set(k, value)) {
      // cainfo=, sslverify=, s3-endpoint=, retries=, timeout=, cache-dir=,
      // cache-dir-size=: for this snapshot and every URL of its chain.
      if (k == "cache-dir" || k == "cainfo") {
        char *p = nbdkit_absolute_path(value);
        if (!p) return -1;
        hexz::default_remote_options().set(k, p);
        free(p);
      }
    } else {
      nbdkit_error("hexz: unknown parameter '%s' (see nbdkit hexz --help)", key);
      return -1;
    }
    return 0;
  });
}

int hexz_config_complete() {
  if (file.empty()) {
    nbdkit_error("hexz: the file parameter is required: nbdkit hexz file=SNAPSHOT.st (or url=URL)");
    return -1;
  }
  return 0;
}

// Opening here rather than in .config_complete makes a damaged file fail the
// start-up (before nbdkit forks or accepts clients) but lets --dump-plugin
// and --help work without one.
int hexz_get_ready() {
  return guarded([] {
    // Retries, refetched cache entries and the like go to nbdkit -v.
    hexz::set_remote_logger([](const std::string &m) { nbdkit_debug("hexz: %s", m.c_str()); });
    auto snap = hexz::Snapshot::open(file);
    // A remote snapshot's index pages, fetched now in parallel, cost the
    // first requests no round trip each.
    for (const hexz::Snapshot *s = snap.get(); s; s = s->parent().get()) s->preload_index();
    reader = std::make_unique<Reader>(snap, cache_size);
    nbdkit_debug("hexz: %s: block size %" PRIu32 ", disk %" PRIu64 " bytes, memory %" PRIu64
                 " bytes, cache %" PRIu64 " bytes in %u shards",
                 file.c_str(), snap->block_size(), snap->stream_size(StreamId::DISK),
                 snap->stream_size(StreamId::MEMORY), cache_size,
                 reader->cache() ? reader->cache()->shards() : 0);
    return 0;
  });
}

// Kept-alive connections to a remote store were opened before nbdkit forked
// into the background: start again with fresh ones.
int hexz_after_fork() {
  return guarded([] {
    for (const hexz::Snapshot *s = &reader->snapshot(); s; s = s->parent().get())
      if (auto *r = dynamic_cast<hexz::RemoteStorage *>(&s->storage())) r->drop_connections();
    return 0;
  });
}

void hexz_dump_plugin() {
  printf("hexz_format_version=%u.%u\n", unsigned(hexz::VERSION_MAJOR), unsigned(hexz::VERSION_MINOR));
  printf("hexz_default_cache_size=%" PRIu64 "\n", DEFAULT_CACHE_SIZE);
}

int hexz_list_exports(int, int, struct nbdkit_exports *exports) {
  return guarded([&] {
    const hexz::Snapshot &snap = reader->snapshot();
    for (StreamId s : {StreamId::DISK, StreamId::MEMORY}) {
      if (!snap.has_stream(s)) continue;
      std::string desc = hexz_plugin::export_description(snap, s);
      if (nbdkit_add_export(exports, hexz::stream_name(s), desc.c_str()) == -1) return -1;
    }
    return 0;
  });
}

const char *hexz_default_export(int, int) { return hexz_plugin::DISK_EXPORT; }

void *hexz_open(int) {
  try {
    const char *name = nbdkit_export_name();
    std::string n = name ? name : "";
    auto s = hexz_plugin::export_stream(reader->snapshot(), n);
    if (!s) {
      nbdkit_error("%s: no export named \"%s\" (this snapshot has: %s%s)", file.c_str(), n.c_str(),
                   reader->snapshot().has_stream(StreamId::DISK) ? "disk " : "",
                   reader->snapshot().has_stream(StreamId::MEMORY) ? "memory" : "");
      return nullptr;
    }
    return new Handle{*s};
  } catch (...) {
    nbdkit_error("hexz: out of memory");
    return nullptr;
  }
}

void hexz_close(void *handle) { delete static_cast<Handle *>(handle); }

const char *hexz_export_description(void *handle) {
  try {
    std::string d = hexz_plugin::export_description(reader->snapshot(), stream_of(handle));
    return nbdkit_strdup_intern(d.c_str());
  } catch (...) {
    return nullptr;
  }
}

int64_t hexz_get_size(void *handle) { return int64_t(reader->snapshot().stream_size(stream_of(handle))); }

int hexz_can_multi_conn(void *) { return 1; }  // read-only: every connection sees the same bytes
// NBD_CMD_CACHE loads blocks into our cache; without one there is nothing
// useful to do, so do not advertise it.
int hexz_can_cache(void *) { return reader->cache() ? NBDKIT_CACHE_NATIVE : NBDKIT_CACHE_NONE; }
int hexz_is_rotational(void *) { return 0; }

int hexz_block_size(void *, uint32_t *minimum, uint32_t *preferred, uint32_t *maximum) {
  *minimum = 1;
  *preferred = reader->snapshot().block_size();
  *maximum = MAX_REQUEST;
  return 0;
}

int hexz_pread(void *handle, void *buf, uint32_t count, uint64_t offset, uint32_t) {
  return guarded([&] {
    reader->pread(stream_of(handle), buf, count, offset);
    return 0;
  });
}

int hexz_cache(void *handle, uint32_t count, uint64_t offset, uint32_t) {
  return guarded([&] {
    reader->prefetch(stream_of(handle), count, offset);
    return 0;
  });
}

int hexz_extents(void *handle, uint32_t count, uint64_t offset, uint32_t flags, struct nbdkit_extents *extents) {
  return guarded([&] {
    bool one = flags & NBDKIT_FLAG_REQ_ONE;
    bool done = false;
    reader->snapshot().extents(stream_of(handle), offset, count, [&](uint64_t off, uint64_t len, bool zero) {
      if (done) return;
      if (nbdkit_add_extent(extents, off, len, zero ? NBDKIT_EXTENT_HOLE | NBDKIT_EXTENT_ZERO : 0) == -1)
        throw hexz::Error(file + ": cannot report extents", errno ? errno : EIO);
      done = one;
    });
    return 0;
  });
}

nbdkit_plugin make_plugin() {
  auto p = nbdkit_plugin();
  p.name = "hexz";
  p.longname = "nbdkit hexz compressed snapshot plugin";
  p.version = PACKAGE_VERSION;
  p.description = "Serve the disk and memory streams of a hexz .st snapshot (read-only).";
  p.unload = hexz_unload;
  p.config = hexz_config;
  p.config_complete = hexz_config_complete;
  p.config_help =
      "file=SNAPSHOT.st     The hexz snapshot to serve (or url=).\n"
      "url=URL              A snapshot at http://, https:// or s3://BUCKET/KEY.\n"
      "cache-size=SIZE      Cache of decompressed blocks, e.g. 512M, 0 to\n"
      "                     disable (default 256M).\n"
      "cainfo=FILE          CA bundle to verify https servers with.\n"
      "sslverify=false      Do not verify the server's certificate.\n"
      "s3-endpoint=URL      S3-compatible store (path-style), e.g.\n"
      "                     http://127.0.0.1:9000 (default: AWS).\n"
      "retries=N            Retries of a failed request (default 5).\n"
      "timeout=SECS         Limit for one request (default 60).\n"
      "cache-dir=DIR        Persistent cache of fetched bytes, shareable\n"
      "                     between processes.\n"
      "cache-dir-size=SIZE  Its bound (default 1G).";
  p.magic_config_key = "file";
  p.get_ready = hexz_get_ready;
  p.after_fork = hexz_after_fork;
  p.dump_plugin = hexz_dump_plugin;
  p.list_exports = hexz_list_exports;
  p.default_export = hexz_default_export;
  p.open = hexz_open;
  p.close = hexz_close;
  p.export_description = hexz_export_description;
  p.get_size = hexz_get_size;
  p.block_size = hexz_block_size;
  p.can_multi_conn = hexz_can_multi_conn;
  p.can_cache = hexz_can_cache;
  p.is_rotational = hexz_is_rotational;
  p.pread = hexz_pread;
  p.cache = hexz_cache;
  p.extents = hexz_extents;
  return p;
}

}  // namespace

static struct nbdkit_plugin plugin = make_plugin();

NBDKIT_REGISTER_PLUGIN(plugin)
