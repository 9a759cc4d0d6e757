#include "image-diff-input.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "format.h"
#include "remote-url.h"
#include "unique-fd.h"
#include "util.h"
#include "nbd-source.h"

namespace hexz {

namespace {

// The first bytes of a local file, to tell a snapshot from a raw image (and
// to recognise container formats that must be served by qemu-nbd first).
std::string file_magic(const std::string &path, const std::string &what) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno(what);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) throw_errno(what + ": stat");
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
    throw Error(what + ": not a disk image (neither a regular file, a block device nor an NBD URI)", EINVAL);
  unsigned char buf[8] = {};
  size_t n = pread_full(fd.get(), buf, sizeof buf, 0, what);
  return std::string(reinterpret_cast<char *>(buf), n);
}

void connect_source(ImageInput &in, NbdHandle h, const std::string &name) {
  in.handle = h.get();
  in.source = nbd_handle_source(std::move(h), name);
}

}  // namespace

std::unique_ptr<Source> ImageInput::reopen() const {
  if (server) return nbd_handle_source(server->connect(), spec);
  if (is_nbd_uri(spec)) return open_nbd_uri_source(spec);
  return open_file_source(spec);
}

std::unique_ptr<ImageInput> open_image_input(const std::string &spec, const char *role, bool direct) {
  auto in = std::make_unique<ImageInput>();
  in->spec = spec;
  in->role = role;
  const std::string what = std::string(role) + " " + spec;

  if (is_nbd_uri(spec)) {
    in->kind = "NBD URI";
    NbdHandle h;
    try {
      h = connect_nbd_uri(spec);
    } catch (const Error &e) {
      throw Error(std::string(role) + " " + e.what(), e.err());
    }
    connect_source(*in, std::move(h), spec);
    return in;
  }

  // A URL is a snapshot behind HTTP(S) or S3 (Snapshot::open says if not).
  std::string magic = is_url(spec) ? std::string(reinterpret_cast<const char *>(MAGIC), sizeof MAGIC)
                                   : file_magic(spec, what);
  ServeOptions so;
  so.snapshot = spec;
  if (magic.size() == sizeof MAGIC && memcmp(magic.data(), MAGIC, sizeof MAGIC) == 0) {
    in->kind = "hexz snapshot";
    try {
      in->snapshot = Snapshot::open(spec);
    } catch (const Error &e) {
      throw Error(std::string(role) + ": " + e.what(), e.err());
    }
    if (!in->snapshot->has_stream(StreamId::DISK))
      throw Error(what + ": the snapshot has no disk stream (only a memory dump)", EINVAL);
  } else if (magic.compare(0, 4, "QFI\xfb") == 0 || magic.compare(0, 4, "KDMV") == 0 ||
             magic.compare(0, 8, "conectix") == 0 || magic.compare(0, 4, "vhdx") == 0) {
    throw Error(what + ": a qcow2/vmdk/vhd container, not a raw image: serve it with qemu-nbd or nbdkit and pass "
                       "its NBD URI",
                EINVAL);
  } else {
    in->kind = "raw image";
    if (direct) {
      in->source = open_file_source(spec);
      return in;
    }
    so.plugin = "file";
  }
  // Started, not waited for: connect_image_input waits, so that BASE's and
  // MODIFIED's servers start at the same time.
  so.wait = false;
  in->server = std::make_unique<NbdkitServer>(so);
  return in;
}

void connect_image_input(ImageInput &in) {
  if (in.source) return;
  connect_source(in, in.server->connect(), in.spec);
  if (in.snapshot && in.size() != in.snapshot->stream_size(StreamId::DISK))
    throw Error(in.role + " " + in.spec + ": nbdkit serves " + std::to_string(in.size()) + " bytes but the snapshot's disk is " +
                    std::to_string(in.snapshot->stream_size(StreamId::DISK)) + " bytes",
                EIO);
}

}  // namespace hexz
