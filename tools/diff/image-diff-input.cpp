#include "image-diff-input.h"

#include "error.h"
#include "format.h"
#include "image-format.h"
#include "remote-url.h"
#include "source.h"
#include "util.h"
#include "nbd-source.h"

namespace hexz {

namespace {

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
  // A local file is probed for what it holds: a snapshot, a container that
  // must be served by qemu-nbd first, or a raw image.
  std::unique_ptr<Source> file;
  ImageFormat format = ImageFormat::HEXZ;
  if (!is_url(spec)) {
    try {
      file = open_file_source(spec);
      format = probe_image_format(*file);
    } catch (const Error &e) {
      throw Error(std::string(role) + " " + e.what(), e.err());
    }
  }
  ServeOptions so;
  so.snapshot = spec;
  if (format == ImageFormat::HEXZ) {
    in->kind = "hexz snapshot";
    file.reset();
    try {
      in->snapshot = Snapshot::open(spec);
    } catch (const Error &e) {
      throw Error(std::string(role) + ": " + e.what(), e.err());
    }
    if (!in->snapshot->has_stream(StreamId::DISK))
      throw Error(what + ": the snapshot has no disk stream (only a memory dump)", EINVAL);
  } else if (format != ImageFormat::RAW) {
    throw Error(std::string(role) + " " + container_error(spec, format).what(), EINVAL);
  } else {
    in->kind = "raw image";
    if (direct) {
      in->source = std::move(file);
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
