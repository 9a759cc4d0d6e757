// Re-pointing a thin snapshot at its parent (hexz-rebase): the PARENT
// section (docs/format.md 1.5) is replaced, everything else is kept.
#pragma once
#include <string>

#include "format.h"

namespace hexz {

// Rewrites the thin snapshot PATH with REF as its parent reference (REF.path
// stored as it is given: relative to PATH's directory, absolute, or a URL).
// PATH is rewritten whole into a temporary file beside it (the data area
// copied with copy_file_range, which reflinks where the filesystem can; the
// sections and header written anew), fsynced and renamed over PATH, so a
// crash leaves either the old file or the new one, never a mix; readers
// that have PATH open keep the old file.  The file's permission bits are
// kept.  Throws Error naming PATH when it is not a valid thin snapshot (its
// header and every section checksum are checked first) or on any I/O error;
// PATH is then unchanged.
void rewrite_parent_ref(const std::string &path, const ParentRef &ref);

}  // namespace hexz
