// hexz-diff OVERLAY --files: the files, filesystem metadata and disk regions
// the overlay's modified blocks belong to, printed in virt-diff's format
// (or as JSON).  The resolution itself is in overlay-resolve.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "json.h"

namespace hexz {

struct OverlayFilesOptions {
  std::string overlay;
  std::string meta;  // --meta as given ("": beside the overlay)
  std::string base;  // --base as given ("": from the .base record)
  bool json = false;
};

// BLOCKS: the overlay's modified blocks (.meta), sorted.  Returns the exit
// code; throws Error when a view cannot be served or read.
int overlay_files(const OverlayFilesOptions &o, const std::vector<uint64_t> &blocks, bool meta_present);

// The JSON keys every overlay form shares after "overlay" and the form's
// own file key: whether .meta exists and how much the overlay holds.
void json_counts(Json &j, bool meta_present, uint64_t total);

}  // namespace hexz
