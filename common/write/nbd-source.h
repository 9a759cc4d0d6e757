// Sources read from an NBD server (by URI, or an nbdkit the caller started),
// through libnbd.  Tools only: the plugin and filter do not link libnbd.
#pragma once
#include <memory>
#include <string>

#include "error.h"
#include "image-format.h"
#include "nbd-handle.h"
#include "source.h"

namespace hexz {

// An NBD URI (nbd://, nbd+unix://, ...), read-only.
std::unique_ptr<Source> open_nbd_uri_source(const std::string &uri);
// A libnbd handle connected to URI with base:allocation requested, for
// callers that also issue asynchronous commands on it (hexz-diff -b).
NbdHandle connect_nbd_uri(const std::string &uri);
// An already connected libnbd handle, which the Source then owns.
std::unique_ptr<Source> nbd_handle_source(NbdHandle h, const std::string &name);

bool is_nbd_uri(const std::string &s);
// An NBD URI or a file path holding a raw disk.  A container (qcow2, VMDK,
// VHD, VHDX, VDI, QED: image-format.h) or a hexz snapshot is refused with an
// Error that gives the command that works (serve it with qemu-nbd and pass
// the NBD URI; repack a snapshot with hexz-commit --flatten): its bytes are
// not the guest's disk.
std::unique_ptr<Source> open_source(const std::string &path_or_uri);
// The Error open_source throws for SPEC in format F (F != RAW).
Error container_error(const std::string &spec, ImageFormat f);

}  // namespace hexz
