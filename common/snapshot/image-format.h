// Recognising disk-image containers by their magic numbers, so that a tool
// that needs a raw disk (hexz-pack, hexz-diff -b) refuses a qcow2 or VMDK
// file instead of packing or comparing its container bytes as if they were
// the guest's disk.
#pragma once
#include <string>

namespace hexz {

class Source;

enum class ImageFormat { RAW, HEXZ, QCOW2, QED, VMDK, VHD, VHDX, VDI };

// The format of SRC from its first and last 512 bytes: the hexz .st magic,
// qcow2 ("QFI\xfb"), QED ("QED\0"), VMDK ("KDMV", or a "# Disk
// DescriptorFile" text descriptor), VHD ("conectix" footer at the start of
// a dynamic or the end of a fixed image), VHDX ("vhdxfile"), VDI (signature
// 0xbeda107f at offset 64).  Anything else is RAW.
ImageFormat probe_image_format(Source &src);

// Whether the file PATH starts with the .st magic.  False for anything that
// cannot tell (missing, unreadable, not a regular file: opened without
// blocking, so a FIFO is never waited on): the caller's next open says why.
bool starts_with_snapshot_magic(const std::string &path);

// "qcow2", "VMDK", ... for messages.
const char *image_format_name(ImageFormat f);
// qemu's name for -f (qcow2, qed, vmdk, vpc, vhdx, vdi).
const char *qemu_format_name(ImageFormat f);

}  // namespace hexz
