#include "codec.h"

#include <cstring>
#include <lz4.h>
#include <lz4hc.h>
#include <zstd.h>

#include "error.h"

namespace hexz {

namespace {
struct ZstdContexts {
  ZSTD_CCtx *c = nullptr;
  ZSTD_DCtx *d = nullptr;
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};
thread_local ZstdContexts zstd_ctx;
}  // namespace

size_t compress_bound(size_t len) {
  size_t a = ZSTD_compressBound(len);
  size_t b = size_t(LZ4_compressBound(int(len)));
  return a > b ? a : b;
}

size_t compress_block(Method method, int level, const void *in, size_t len, void *out) {
  switch (method) {
    case Method::RAW:
      std::memcpy(out, in, len);
      return len;
    case Method::LZ4: {
      int r;
      // Levels above 1 select LZ4HC, like the lz4 command line tool.
      if (level > 1)
        r = LZ4_compress_HC(static_cast<const char *>(in), static_cast<char *>(out), int(len),
                            LZ4_compressBound(int(len)), level);
      else
        r = LZ4_compress_default(static_cast<const char *>(in), static_cast<char *>(out), int(len),
                                 LZ4_compressBound(int(len)));
      if (r <= 0) throw Error("lz4 compression failed", EIO);
      return size_t(r);
    }
    case Method::ZSTD: {
      if (!zstd_ctx.c && !(zstd_ctx.c = ZSTD_createCCtx())) throw Error("zstd: out of memory", ENOMEM);
      size_t r = ZSTD_compressCCtx(zstd_ctx.c, out, ZSTD_compressBound(len), in, len, level);
      if (ZSTD_isError(r)) throw Error(std::string("zstd compression failed: ") + ZSTD_getErrorName(r), EIO);
      return r;
    }
  }
  throw Error("unknown compression method", EINVAL);
}

bool decompress_block(Method method, const void *in, size_t in_len, void *out, size_t out_len) {
  switch (method) {
    case Method::RAW:
      if (in_len != out_len) return false;
      std::memcpy(out, in, in_len);
      return true;
    case Method::LZ4: {
      int r = LZ4_decompress_safe(static_cast<const char *>(in), static_cast<char *>(out), int(in_len), int(out_len));
      return r >= 0 && size_t(r) == out_len;
    }
    case Method::ZSTD: {
      if (!zstd_ctx.d && !(zstd_ctx.d = ZSTD_createDCtx())) return false;
      size_t r = ZSTD_decompressDCtx(zstd_ctx.d, out, out_len, in, in_len);
      return !ZSTD_isError(r) && r == out_len;
    }
  }
  return false;
}

bool is_zero(const void *buf, size_t len) {
  auto *p = static_cast<const unsigned char *>(buf);
  // Check the first bytes, then compare the buffer with itself shifted: a
  // fast, alignment-agnostic test that libc's memcmp vectorises.
  size_t head = len < 16 ? len : 16;
  for (size_t i = 0; i < head; i++)
    if (p[i]) return false;
  return len <= 16 || std::memcmp(p, p + 16, len - 16) == 0;
}

}  // namespace hexz
