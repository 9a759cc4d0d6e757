// hexz-info on a hexz-cow overlay (docs/format.md, section 2): the base it
// was written on, the disk size, how many blocks it modified, and who holds
// it (overlay-lock.h).
#pragma once
#include <optional>
#include <string>

#include "overlay-meta.h"

namespace hexz {

class Json;

// Whether PATH is an overlay: a local regular file that is not a .st
// snapshot and has a .meta or .base side file beside it.
bool is_overlay(const std::string &path);

// Describes the overlay PATH: text on standard output, or one object into
// J.  Returns its .base record (with the path resolved against the
// overlay's directory), nullopt if it has none.  Throws Error on a
// malformed side file.
std::optional<BaseRecord> describe_overlay(const std::string &path, Json *j);

}  // namespace hexz
