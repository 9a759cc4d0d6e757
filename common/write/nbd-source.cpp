#include "nbd-source.h"

#include <cerrno>
#include <deque>
#include <libnbd.h>

#include "error.h"
#include "util.h"

namespace hexz {

namespace {

class NbdSource : public Source {
 public:
  NbdSource(NbdHandle h, const std::string &name) : h_(std::move(h)), name_(name) {
    int64_t s = nbd_get_size(h_.get());
    if (s < 0) throw Error(name_ + ": " + nbd_get_error(), EIO);
    size_ = uint64_t(s);
    can_status_ = nbd_can_meta_context(h_.get(), LIBNBD_CONTEXT_BASE_ALLOCATION) == 1;
  }
  ~NbdSource() override { nbd_shutdown(h_.get(), 0); }
  const std::string &name() const override { return name_; }
  uint64_t size() const override { return size_; }
  // A large read goes out as several requests in flight at once, so that
  // the server works on them in parallel (nbdkit hexz decodes each in its
  // own worker thread) rather than one request at a time.
  void pread(void *buf, size_t len, uint64_t off) override {
    constexpr size_t CHUNK = 1 << 20;
    constexpr size_t MAX_IN_FLIGHT = 8;
    auto *p = static_cast<char *>(buf);
    std::deque<int64_t> cookies;
    std::string error;
    // Every issued request must complete before BUF may be given back, so
    // after an error the ones in flight are still waited for.
    auto wait_oldest = [&] {
      int64_t c = cookies.front();
      int r;
      while ((r = nbd_aio_command_completed(h_.get(), uint64_t(c))) == 0)
        if (nbd_poll(h_.get(), -1) == -1) break;
      if (r != 1 && error.empty()) error = nbd_get_error() ? nbd_get_error() : "request failed";
      cookies.pop_front();
    };
    while (len > 0 && error.empty()) {
      size_t n = len < CHUNK ? len : CHUNK;
      int64_t c = nbd_aio_pread(h_.get(), p, n, off, NBD_NULL_COMPLETION, 0);
      if (c == -1) {
        error = nbd_get_error();
        break;
      }
      cookies.push_back(c);
      p += n;
      off += n;
      len -= n;
      if (cookies.size() >= MAX_IN_FLIGHT) wait_oldest();
    }
    while (!cookies.empty()) wait_oldest();
    if (!error.empty()) throw Error(name_ + ": read: " + error, EIO);
  }
  void extents(uint64_t off, uint64_t len, const std::function<void(uint64_t, uint64_t, bool)> &fn) override {
    if (!can_status_) return Source::extents(off, len, fn);
    uint64_t end = off + len;
    while (off < end) {
      uint64_t req = std::min<uint64_t>(end - off, uint64_t(1) << 30);
      struct Ctx {
        uint64_t pos;
        uint64_t end;
        const std::function<void(uint64_t, uint64_t, bool)> *fn;
      } ctx{off, off + req, &fn};
      auto cb = [](void *user, const char *metacontext, uint64_t, uint32_t *entries, size_t nr, int *) -> int {
        auto *c = static_cast<Ctx *>(user);
        if (std::string(metacontext) != LIBNBD_CONTEXT_BASE_ALLOCATION) return 0;
        for (size_t i = 0; i + 1 < nr && c->pos < c->end; i += 2) {
          uint64_t l = std::min<uint64_t>(entries[i], c->end - c->pos);
          if (l == 0) break;
          (*c->fn)(c->pos, l, (entries[i + 1] & LIBNBD_STATE_ZERO) != 0);
          c->pos += l;
        }
        return 0;
      };
      if (nbd_block_status(h_.get(), req, off, (nbd_extent_callback){.callback = cb, .user_data = &ctx, .free = nullptr},
                           0) != 0)
        throw Error(name_ + ": block status: " + nbd_get_error(), EIO);
      if (ctx.pos == off) {  // server made no progress: treat the rest as data
        fn(off, end - off, false);
        return;
      }
      off = ctx.pos;
    }
  }

 private:
  NbdHandle h_;
  std::string name_;
  uint64_t size_ = 0;
  bool can_status_ = false;
};

}  // namespace

std::unique_ptr<Source> nbd_handle_source(NbdHandle h, const std::string &name) {
  return std::make_unique<NbdSource>(std::move(h), name);
}

NbdHandle connect_nbd_uri(const std::string &uri) {
  NbdHandle h = new_nbd_handle();
  if (nbd_connect_uri(h.get(), uri.c_str()) != 0) throw Error(uri + ": " + nbd_get_error(), EIO);
  return h;
}

std::unique_ptr<Source> open_nbd_uri_source(const std::string &uri) {
  return nbd_handle_source(connect_nbd_uri(uri), uri);
}

bool is_nbd_uri(const std::string &s) { return s.rfind("nbd://", 0) == 0 || s.rfind("nbds://", 0) == 0 || s.rfind("nbd+", 0) == 0 || s.rfind("nbds+", 0) == 0; }

Error container_error(const std::string &spec, ImageFormat f) {
  if (f == ImageFormat::HEXZ)
    return Error(spec + ": a hexz snapshot, not a raw disk; to repack it (other -c, -l or -b), run: "
                        "hexz-commit --flatten " + spec + " -o NEW.st [-c ...]",
                 EINVAL);
  if (is_nbd_uri(spec))
    return Error(spec + ": the NBD server serves the bytes of a " + std::string(image_format_name(f)) +
                     " container, not a raw disk; serve the image with its format (e.g. qemu-nbd -f " +
                     qemu_format_name(f) + ")",
                 EINVAL);
  const std::string sock = "/tmp/" + base_name(spec) + ".sock";
  return Error(spec + ": a " + image_format_name(f) + " image, not a raw disk (its container bytes are not the " +
                   "guest's disk); serve it with qemu-nbd and give its NBD URI instead: qemu-nbd -r -t -f " +
                   qemu_format_name(f) + " -k " + sock + " " + spec + " & then nbd+unix:///?socket=" + sock,
               EINVAL);
}

std::unique_ptr<Source> open_source(const std::string &path_or_uri) {
  std::unique_ptr<Source> src =
      is_nbd_uri(path_or_uri) ? open_nbd_uri_source(path_or_uri) : open_file_source(path_or_uri);
  if (ImageFormat f = probe_image_format(*src); f != ImageFormat::RAW) throw container_error(path_or_uri, f);
  return src;
}

}  // namespace hexz
