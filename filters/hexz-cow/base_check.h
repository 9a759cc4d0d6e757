// The overlay's base record (docs/format.md, section 2.3): which snapshot an
// overlay sits on, so that tools find it by themselves and so that an overlay
// is never silently reopened on top of another snapshot.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace hexz_cow {

// If FILE (the plugin's file= parameter) is a hexz snapshot, checks the base
// record beside OVERLAY against it and (re)writes the record when it is
// missing or out of date.  A record naming another snapshot UUID is refused
// unless FORCE.  Returns the snapshot's disk size, or nullopt when FILE is
// not a hexz snapshot (the filter then sits on some other plugin and no
// record is kept).  Throws hexz::Error naming the file at fault.
std::optional<uint64_t> check_base_record(const std::string &overlay, const std::string &file, bool force);

}  // namespace hexz_cow
