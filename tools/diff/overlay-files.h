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
  unsigned parser_timeout = 600;  // --parser-timeout (fs/sandbox.h)
};

// BLOCKS: the overlay's modified blocks (.meta), sorted.  Returns the exit
// code; throws Error when a view cannot be served or read.
int overlay_files(const OverlayFilesOptions &o, const std::vector<uint64_t> &blocks, bool meta_present);

// The keys every overlay document starts with (hexz-diff.schema.json):
// kind, overlay, meta, meta_present, modified_blocks, size_bytes, size.
void json_overlay_head(Json &j, const char *kind, const std::string &overlay, const std::string &meta,
                       bool meta_present, uint64_t total);

}  // namespace hexz
