# Shared helpers for hexz's shell tests.  Source it first:
#   source "$srcdir/functions.sh"
# Every test runs in its own scratch directory ($tmp), removed at exit.

set -euo pipefail

# Automake's exit code for a skipped test.
SKIP=77

# requires CMD...: skip the test (exit 77) unless every command exists.
requires() {
  for c in "$@"; do
    if ! command -v "$c" >/dev/null 2>&1; then
      echo "$0: SKIP: '$c' is not installed"
      exit $SKIP
    fi
  done
}

# requires_built FILE...: skip the test (exit 77) unless every FILE exists,
# e.g. "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER" while they are not built yet.
requires_built() {
  for f in "$@"; do
    if [ ! -e "$f" ]; then
      echo "$0: SKIP: $f is not built"
      exit $SKIP
    fi
  done
}

# fail MSG...: print MSG and exit 1.
fail() {
  echo "$0: FAIL: $*" >&2
  exit 1
}

# cleanup_fn CMD...: run CMD at exit (in reverse order of registration).
_cleanup_cmds=()
cleanup_fn() { _cleanup_cmds+=("$*"); }
_run_cleanup() {
  local rc=$?
  for ((i = ${#_cleanup_cmds[@]} - 1; i >= 0; i--)); do
    eval "${_cleanup_cmds[i]}" || true
  done
  exit $rc
}
trap _run_cleanup EXIT
trap 'exit 130' INT TERM

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hexz-test.XXXXXX")
cleanup_fn "rm -rf '$tmp'"

# The plugin and filter under test (built in the tree, see tests/Makefile.am).
: "${HEXZ_PLUGIN:?HEXZ_PLUGIN must be set (run the tests with make check)}"
: "${HEXZ_COW_FILTER:?HEXZ_COW_FILTER must be set (run the tests with make check)}"

# In a sanitizer build the plugin needs the ASan runtime preloaded into
# nbdkit, which is not built with ASan.  Use "$NBDKIT" to start nbdkit.
if [ -n "${HEXZ_ASAN_PRELOAD:-}" ]; then
  NBDKIT="env LD_PRELOAD=$HEXZ_ASAN_PRELOAD nbdkit"
  export HEXZ_NBDKIT="$srcdir/nbdkit-asan.sh"
else
  NBDKIT=nbdkit
fi

# make_ext4 IMAGE SIZE DIR: a real ext4 image of SIZE holding DIR's files,
# built without mounting.
make_ext4() {
  rm -f "$1"
  truncate -s "$2" "$1"
  mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 -d "$3" "$1"
}

# make_tree DIR: a small directory tree of real text and binary files.
make_tree() {
  mkdir -p "$1/etc" "$1/bin" "$1/data"
  cp /etc/services /etc/protocols "$1/etc/" 2>/dev/null || echo services > "$1/etc/services"
  cp /usr/bin/true /usr/bin/env "$1/bin/"
  head -c 300000 /dev/urandom > "$1/data/random.bin"
  seq 1 50000 > "$1/data/numbers.txt"
  ln -s ../etc/services "$1/data/link"
}

# damaged_snapshots GOOD.st: copies of a good snapshot that every reader
# must refuse when opening them: $tmp/trunc.st (one byte short),
# $tmp/short.st (its first 1000 bytes) and $tmp/garbage.st (random bytes).
damaged_snapshots() {
  local size
  size=$(stat -c %s "$1")
  head -c $((size - 1)) "$1" > "$tmp/trunc.st"
  head -c 1000 "$1" > "$tmp/short.st"
  head -c 100000 /dev/urandom > "$tmp/garbage.st"
}
