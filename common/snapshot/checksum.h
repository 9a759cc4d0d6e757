// XXH3-64 (seed 0), the checksum of every header, section and block.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hexz {
uint64_t checksum(const void *data, size_t len);
}
