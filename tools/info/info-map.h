// hexz-info --map: where every block of a snapshot is stored, so that a
// script (bench/bench-remote.sh) can ask what reading some blocks costs
// instead of parsing the index itself.
#pragma once
#include <cstdio>
#include <string>

#include "snapshot.h"

namespace hexz {

// Prints the map of every stream of S to OUT, as JSON (schema in
// hexz-info(1)) or as a table.  Throws Error naming the page if an index
// page is damaged.
void print_map(const Snapshot &s, const std::string &path, bool json, FILE *out);

}  // namespace hexz
