#!/usr/bin/env bash
# The whole hexz test suite on a fresh Debian 12 machine (run as root):
# installs the dependencies, builds, and runs "make check" in a normal build
# and in an ASan+UBSan build, saying how long each step took.  .ci/run runs
# it (and run-sample.sh) on a brand-new root, see scripts/fresh-root.sh.
# After the normal build's tests, each libFuzzer harness (make fuzz,
# fuzz/README.md) runs for HEXZ_FUZZ_SECONDS (default 5) on seeds made with
# that build's tools; any crash, leak or hang it finds fails the run.
#   ./run-tests.sh            both builds
#   ./run-tests.sh --quick    the normal build only
set -Eeuo pipefail
trap 'echo "run-tests: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
top=$(cd "$(dirname "$0")" && pwd)

# timed LABEL CMD...: runs CMD and says how long it took.
timed() {
  local label=$1 t0=$SECONDS rc=0
  shift
  "$@" || rc=$?
  echo "run-tests: $label took $((SECONDS - t0))s$([ $rc = 0 ] || echo " and failed (exit $rc)")"
  return $rc
}

timed "installing the dependencies" "$top/scripts/install-deps.sh"

status=0
run_suite() {  # run_suite NAME BUILDDIR CONFIGURE-ARGS...
  local name=$1 dir=$2
  shift 2
  timed "the $name build" "$top/scripts/build.sh" "$dir" "$@"
  if ! timed "make check in the $name build" make -C "$dir" -j"$(nproc)" check; then
    status=1
    { find "$dir/tests" -name '*.log' ! -name test-suite.log -exec grep -l '^FAIL\|^ERROR' {} + 2>/dev/null || true; } |
      while read -r log; do echo "=== $log"; tail -n 40 "$log"; done
  fi
  # A skipped test usually means a missing program: say which and why.
  { grep -l '^:test-result: SKIP' "$dir"/tests/*.trs 2>/dev/null || true; } | while read -r trs; do
    t=${trs##*/}; echo "run-tests: $name build: skipped ${t%.trs}: $(grep -h -m1 'SKIP' "${trs%.trs}.log")"
  done
}

run_suite normal "$top/build"
fuzz_seconds=${HEXZ_FUZZ_SECONDS:-5}
if ! timed "make fuzz (${fuzz_seconds} s per harness)" make -C "$top/build" -j"$(nproc)" fuzz FUZZ_SECONDS="$fuzz_seconds"; then
  status=1
  echo "run-tests: a fuzz harness failed: its input is in $top/build/fuzz (crash-*, leak-*, timeout-*)"
fi
if [ "${1:-}" != "--quick" ]; then
  run_suite ASan+UBSan "$top/build-sanitizers" --enable-sanitizers
fi
exit $status
