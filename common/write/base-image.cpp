#include "base-image.h"

#include "error.h"
#include "image-format.h"
#include "nbd-source.h"
#include "remote-url.h"
#include "source.h"
#include "util.h"

namespace hexz {

std::string BaseImage::describe() const {
  return snapshot ? "snapshot " + uuid_to_string(snapshot->uuid()) + " (" + path + ")" : "the raw image " + path;
}

ServeOptions BaseImage::serve_options() const {
  ServeOptions so;
  so.snapshot = path;
  if (is_raw()) so.plugin = "file";
  return so;
}

BaseImage open_base_image(const std::string &path) {
  BaseImage b;
  b.path = path;
  if (!is_url(path)) {
    std::unique_ptr<Source> src = open_file_source(path);
    ImageFormat f = probe_image_format(*src);
    if (f == ImageFormat::RAW) {
      b.size = src->size();
      return b;
    }
    if (f != ImageFormat::HEXZ) throw container_error(path, f);
  }
  b.snapshot = Snapshot::open(path);
  if (!b.snapshot->has_stream(StreamId::DISK))
    throw Error(path + ": the snapshot has no disk stream (only a memory dump)", EINVAL);
  b.size = b.snapshot->stream_size(StreamId::DISK);
  return b;
}

std::string base_record_mismatch(const std::string &record_path, const std::string &overlay, const BaseRecord &rec,
                                 const BaseImage &base) {
  const std::string head = record_path + ": overlay " + overlay + " was written on top of snapshot " +
                           uuid_to_string(rec.uuid) + " (" + rec.path + "), but ";
  if (base.is_raw()) return head + base.path + " is a raw image";
  if (base.snapshot->uuid() != rec.uuid)
    return head + base.path + " is snapshot " + uuid_to_string(base.snapshot->uuid());
  if (rec.disk_size != base.size)
    return record_path + ": overlay " + overlay + " was written on a disk of " + std::to_string(rec.disk_size) +
           " bytes, but " + base.path + " has " + std::to_string(base.size);
  return "";
}

}  // namespace hexz
