#include "nbd-handle.h"

#include <cerrno>
#include <string>

#include "error.h"

namespace hexz {

NbdHandle new_nbd_handle() {
  NbdHandle h(nbd_create());
  if (!h) throw Error(std::string("nbd_create: ") + nbd_get_error(), ENOMEM);
  if (nbd_add_meta_context(h.get(), LIBNBD_CONTEXT_BASE_ALLOCATION) != 0)
    throw Error(std::string("nbd_add_meta_context: ") + nbd_get_error(), EIO);
  return h;
}

}  // namespace hexz
