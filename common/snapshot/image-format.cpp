#include "image-format.h"

#include <cstring>
#include <fcntl.h>

#include "endian.h"
#include "error.h"
#include "format.h"
#include "source.h"
#include "unique-fd.h"
#include "util.h"

namespace hexz {

namespace {

bool starts(const unsigned char *p, size_t n, const char *magic, size_t len) {
  return n >= len && memcmp(p, magic, len) == 0;
}

}  // namespace

bool starts_with_snapshot_magic(const std::string &path) {
  unsigned char magic[sizeof MAGIC];
  try {
    UniqueFd fd = open_regular(path, O_RDONLY, "a file");
    return pread_full(fd.get(), magic, sizeof magic, 0, path) == sizeof magic &&
           memcmp(magic, MAGIC, sizeof magic) == 0;
  } catch (const Error &) {
    return false;
  }
}

ImageFormat probe_image_format(Source &src) {
  const uint64_t size = src.size();
  unsigned char head[512] = {}, tail[512] = {};
  const size_t n = size < sizeof head ? size_t(size) : sizeof head;
  if (n) src.pread(head, n, 0);
  if (starts(head, n, reinterpret_cast<const char *>(MAGIC), sizeof MAGIC)) return ImageFormat::HEXZ;
  if (starts(head, n, "QFI\xfb", 4)) return ImageFormat::QCOW2;
  if (starts(head, n, "QED\0", 4)) return ImageFormat::QED;
  if (starts(head, n, "KDMV", 4) || starts(head, n, "# Disk DescriptorFile", 21)) return ImageFormat::VMDK;
  if (starts(head, n, "vhdxfile", 8)) return ImageFormat::VHDX;
  if (starts(head, n, "conectix", 8)) return ImageFormat::VHD;
  if (n >= 68 && load_le32(head + 64) == 0xbeda107fu) return ImageFormat::VDI;
  // A fixed VHD is the raw disk followed by a 512-byte footer.
  if (size >= 1024 && size % 512 == 0) {
    src.pread(tail, sizeof tail, size - sizeof tail);
    if (starts(tail, sizeof tail, "conectix", 8)) return ImageFormat::VHD;
  }
  return ImageFormat::RAW;
}

const char *image_format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::RAW: return "raw";
    case ImageFormat::HEXZ: return "hexz snapshot";
    case ImageFormat::QCOW2: return "qcow2";
    case ImageFormat::QED: return "QED";
    case ImageFormat::VMDK: return "VMDK";
    case ImageFormat::VHD: return "VHD";
    case ImageFormat::VHDX: return "VHDX";
    case ImageFormat::VDI: return "VDI";
  }
  return "?";
}

const char *qemu_format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::QCOW2: return "qcow2";
    case ImageFormat::QED: return "qed";
    case ImageFormat::VMDK: return "vmdk";
    case ImageFormat::VHD: return "vpc";
    case ImageFormat::VHDX: return "vhdx";
    case ImageFormat::VDI: return "vdi";
    default: return "raw";
  }
}

}  // namespace hexz
