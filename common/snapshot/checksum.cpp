#include "checksum.h"

#include <xxhash.h>

namespace hexz {
uint64_t checksum(const void *data, size_t len) { return XXH3_64bits(data, len); }
}  // namespace hexz
