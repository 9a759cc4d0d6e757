// An overlay's base, for the tools that serve one (hexz-diff OVERLAY
// --files, hexz-commit): a .st snapshot (a file or a URL), served by
// "nbdkit hexz", or a raw image, served by nbdkit's file plugin, as the
// hexz-cow filter itself accepts ("nbdkit --filter=hexz-cow file disk.img
// overlay=..."; see nbdkit-hexz-cow-filter(1)).  Container formats (qcow2,
// VMDK, ...) are refused with the command that serves them.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "nbdkit-server.h"
#include "overlay-meta.h"
#include "snapshot.h"

namespace hexz {

struct BaseImage {
  std::string path;                          // as given
  std::shared_ptr<const Snapshot> snapshot;  // null for a raw image
  uint64_t size = 0;                         // the disk's size in bytes

  bool is_raw() const { return snapshot == nullptr; }
  // "snapshot 0f8f... (PATH)" or "the raw image PATH", for messages.
  std::string describe() const;
  // How to serve it: file= for the hexz plugin, or the file plugin's file=.
  ServeOptions serve_options() const;
};

// Opens PATH (a snapshot is opened and so fully checked; a raw image is
// only sized).  Throws Error naming PATH.
BaseImage open_base_image(const std::string &path);

// Whether the overlay's .base record REC (read from RECORD_PATH, for
// OVERLAY) names BASE: its UUID, and the disk size.  A raw image matches no
// record (the filter writes records only over snapshots).  Returns "" when
// it does, else the message saying what differs.
std::string base_record_mismatch(const std::string &record_path, const std::string &overlay, const BaseRecord &rec,
                                 const BaseImage &base);

}  // namespace hexz
