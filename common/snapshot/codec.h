// Block compression.  Contexts are thread-local so that parallel packers and
// parallel nbdkit requests never share or re-create them per block.
#pragma once
#include <cstddef>
#include <cstdint>

#include "format.h"

namespace hexz {

// Worst-case compressed size of LEN bytes for any method.
size_t compress_bound(size_t len);

// Compresses IN with METHOD at LEVEL into OUT (capacity compress_bound(len)).
// Returns the compressed size.  RAW copies.  Throws Error on codec failure.
size_t compress_block(Method method, int level, const void *in, size_t len, void *out);

// Decodes IN (stored bytes) into exactly OUT_LEN bytes of OUT.  Returns false
// if the stored bytes are corrupt or do not decode to exactly OUT_LEN bytes.
bool decompress_block(Method method, const void *in, size_t in_len, void *out, size_t out_len);

// True if all LEN bytes are zero (word-wise).
bool is_zero(const void *buf, size_t len);

}  // namespace hexz
