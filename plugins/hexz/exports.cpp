#include "exports.h"

#include "util.h"

namespace hexz_plugin {

using hexz::StreamId;

std::optional<StreamId> export_stream(const hexz::Snapshot &snap, const std::string &name) {
  std::optional<StreamId> s;
  if (name.empty() || name == DISK_EXPORT)
    s = StreamId::DISK;
  else if (name == MEMORY_EXPORT)
    s = StreamId::MEMORY;
  if (s && !snap.has_stream(*s)) s.reset();
  return s;
}

std::string export_description(const hexz::Snapshot &snap, StreamId s) {
  std::string d = std::string(hexz::stream_name(s)) + " stream of " + hexz::base_name(snap.path()) + " (" +
                  hexz::format_size(snap.stream_size(s)) + ", snapshot " + hexz::uuid_to_string(snap.uuid());
  if (snap.parent()) d += ", thin, parent " + hexz::base_name(snap.parent_path());
  return d + ")";
}

}  // namespace hexz_plugin
