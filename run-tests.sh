#!/usr/bin/env bash
# The whole hexz test suite on a fresh Debian 12 machine (run as root):
# installs the dependencies, builds, and runs "make check" in a normal build
# and in an ASan+UBSan build.  .ci/run calls exactly this.  The libFuzzer
# harnesses (make fuzz, fuzz/README.md) are not run here yet: fuzz-tsk finds
# a TSK hang on an ISO 9660 image within seconds, which is a known finding
# still to be made a regression test, not a failure of this change.
#   ./run-tests.sh            both builds
#   ./run-tests.sh --quick    the normal build only
set -euo pipefail
top=$(cd "$(dirname "$0")" && pwd)
"$top/scripts/install-deps.sh"

status=0
run_suite() {  # run_suite BUILDDIR CONFIGURE-ARGS...
  local dir=$1
  shift
  "$top/scripts/build.sh" "$dir" "$@"
  if ! make -C "$dir" -j"$(nproc)" check; then
    status=1
    find "$dir/tests" -name '*.log' ! -name test-suite.log -exec grep -l '^FAIL\|^ERROR' {} + 2>/dev/null |
      while read -r log; do echo "=== $log"; tail -n 40 "$log"; done
  fi
}

run_suite "$top/build"
if [ "${1:-}" != "--quick" ]; then
  run_suite "$top/build-sanitizers" --enable-sanitizers
fi
exit $status
