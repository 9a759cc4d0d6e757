// The exports a snapshot offers: "" and "disk" name the disk stream,
// "memory" the memory stream (only when the snapshot has one).
#pragma once
#include <optional>
#include <string>

#include "snapshot.h"

namespace hexz_plugin {

inline constexpr const char *DISK_EXPORT = "disk";
inline constexpr const char *MEMORY_EXPORT = "memory";

// The stream served under export NAME, or nullopt if NAME is not an export
// of SNAP.
std::optional<hexz::StreamId> export_stream(const hexz::Snapshot &snap, const std::string &name);

// One line describing the export of stream S, for .list_exports and
// .export_description.
std::string export_description(const hexz::Snapshot &snap, hexz::StreamId s);

}  // namespace hexz_plugin
