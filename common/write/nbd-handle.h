// libnbd handles with one owner: NbdHandle closes its handle (nbd_close)
// when it is destroyed, so no path, thrown or returned, leaks a connection.
#pragma once
#include <libnbd.h>
#include <memory>

namespace hexz {

struct NbdClose {
  void operator()(struct nbd_handle *h) const { nbd_close(h); }
};
using NbdHandle = std::unique_ptr<struct nbd_handle, NbdClose>;

// A new handle with base:allocation requested (so that sources can report
// holes), not yet connected.  Throws Error (ENOMEM) if libnbd cannot make one.
NbdHandle new_nbd_handle();

}  // namespace hexz
