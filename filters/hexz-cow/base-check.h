// The overlay's base record (docs/format.md, section 2.3): which snapshot an
// overlay sits on, so that tools find it by themselves and so that an overlay
// is never silently reopened on top of another snapshot.
#pragma once
#include <optional>
#include <string>

#include "overlay-meta.h"

namespace hexz_cow {

// The record describing FILE (the plugin's file= parameter) if it is a hexz
// snapshot, or nullopt when it is not one (the filter then sits on some other
// plugin and no record is kept).  Throws hexz::Error for a damaged snapshot.
std::optional<hexz::BaseRecord> snapshot_record(const std::string &file);

// Refuses (hexz::Error naming the .base file) to reopen OVERLAY on the
// snapshot NOW when its existing record names another UUID, unless FORCE.
void check_base_record(const std::string &overlay, const hexz::BaseRecord &now, bool force);

// Writes the record beside OVERLAY when it is missing or out of date.
void update_base_record(const std::string &overlay, const hexz::BaseRecord &now);

}  // namespace hexz_cow
