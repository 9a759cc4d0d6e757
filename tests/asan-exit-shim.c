/* Preloaded into nbdkit in the sanitizer build only (tests/Makefile.am).
 *
 * nbdkit itself is not built with ASan, so the ASan runtime is preloaded
 * into it; in that setup nbdkit's exit sometimes deadlocks in libp11-kit's
 * library destructor: its freelocale() waits forever for glibc's setlocale
 * lock, and the test hangs at its very end.  This shim makes freelocale()
 * do nothing in those processes, so that the destructor returns: a locale
 * object is not given back at exit, which is all it costs.  Never used
 * outside the sanitizer test runs. */
#include <locale.h>

void freelocale(locale_t loc) { (void)loc; }
