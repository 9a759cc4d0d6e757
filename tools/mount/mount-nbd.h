// hexz-mount --nbd: the disk as a kernel block device (/dev/nbdN) through
// nbd-client, for hosts with the nbd kernel module.
#pragma once
#include <string>

namespace hexz {

class NbdkitServer;

// Whether the nbd kernel module is loaded (or built in); if not, WHY says so.
bool nbd_module_available(std::string &why);

// Connects DEVICE to SERVER's disk export with nbd-client, calls READY(),
// and waits until the device is disconnected (hexz-unmount DEVICE, or
// "nbd-client -d DEVICE") or a SIGTERM/SIGINT/SIGHUP arrives, which
// disconnects it.  Throws Error if the device cannot be connected.
void serve_nbd(const NbdkitServer &server, const std::string &device, bool readonly, void (*ready)());

}  // namespace hexz
