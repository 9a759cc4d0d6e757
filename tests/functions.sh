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

# make_tree DIR: a small directory tree of text and binary files: the text
# is generated (a host's /etc differs between machines), the binaries come
# from coreutils, which every Debian system has.
make_tree() {
  mkdir -p "$1/etc" "$1/bin" "$1/data"
  seq 1 400 | awk '{ printf "service-%d\t%d/tcp\t\t# generated\n", $1, 1000 + $1 }' > "$1/etc/services"
  seq 0 140 | awk '{ printf "proto-%d\t%d\tPROTO-%d\t# generated\n", $1, $1, $1 }' > "$1/etc/protocols"
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

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds; return 1
# if it still fails after SECONDS.
wait_until() {
  local tries=$(($1 * 10))
  shift
  until "$@"; do
    tries=$((tries - 1))
    [ $tries -gt 0 ] || return 1
    sleep 0.1
  done
}

# running PID: whether process PID exists and has not exited (a child that
# exited but was not reaped yet still answers kill -0).
running() { [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# start_server [-o LOG] VAR READY CMD...: start CMD in the background (its
# output in LOG with -o), set $VAR to its PID, and return once the shell test
# READY succeeds; fail the test if CMD exits first or is not ready within
# 30 s.  At exit, the process in $VAR (if the test has not cleared it) is
# killed.  For servers that must outlive one command (restarts, kill -9, a
# FUSE mount): everything else runs "$NBDKIT -U - ... --run".
start_server() {
  # Locals with names of their own: VAR is set in the caller's scope.
  local _ss_log=/dev/stdout
  if [ "$1" = -o ]; then
    _ss_log=$2
    shift 2
  fi
  local _ss_var=$1 _ss_ready=$2
  shift 2
  if [ "$_ss_log" = /dev/stdout ]; then "$@" & else "$@" > "$_ss_log" 2>&1 & fi
  printf -v "$_ss_var" %s $!
  cleanup_fn "[ -z \"\${$_ss_var:-}\" ] || kill \$$_ss_var 2>/dev/null"
  wait_until 30 eval "$_ss_ready || ! running $!" || true
  if ! eval "$_ss_ready"; then
    [ "$_ss_log" = /dev/stdout ] || cat "$_ss_log" >&2
    fail "'$*' did not start (its messages are above)"
  fi
}

# start_nbdkit SOCKET ARGS...: start_server for "$NBDKIT -f -U SOCKET ARGS",
# ready once nbdkit writes its PID file (SOCKET.pid), which it does only when
# it accepts connections; sets $nbdkit_pid.
start_nbdkit() {
  local sock=$1
  shift
  rm -f "$sock" "$sock.pid"
  start_server nbdkit_pid "[ -s '$sock.pid' ]" $NBDKIT -f -U "$sock" -P "$sock.pid" "$@"
}

# expect_error CODE PATTERN CMD...: CMD exits with CODE and its standard
# error (kept in $tmp/err, standard output in $tmp/out) matches PATTERN.
expect_error() {
  local code=$1 pattern=$2 rc=0
  shift 2
  "$@" > "$tmp/out" 2> "$tmp/err" || rc=$?
  [ "$rc" = "$code" ] || fail "'$*' exited $rc, expected $code: $(cat "$tmp/err")"
  grep -q -- "$pattern" "$tmp/err" || fail "'$*' did not say '$pattern': $(cat "$tmp/err")"
}

# without_dac CMD...: runs CMD as root without the capabilities that let
# root ignore file permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so a
# 0555 directory refuses it as it refuses an ordinary user.  (Another uid
# would do too, but could not reach a build under /root, which is 0700.)
without_dac() {
  setpriv --inh-caps=-dac_override,-dac_read_search --bounding-set=-dac_override,-dac_read_search -- "$@"
}

# meta_blocks FILE.meta: the block indices a .meta lists (little-endian
# 64-bit integers, docs/format.md), one per line.
meta_blocks() { od --endian=little -An -v -tu8 -w8 "$1" | tr -d ' '; }

# flip FILE OFFSET MASK: XOR the byte at OFFSET of FILE with MASK (0x01...).
flip() {
  local byte
  byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $((byte ^ $3)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# index_page FILE.st PAGE: prints "OFFSET LENGTH" of the stored index page
# PAGE of FILE's disk stream (docs/format.md 1.3), for tests that damage it.
index_page() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read()
page = int(sys.argv[2])
for k in range(struct.unpack_from('<I', b, 52)[0]):
    kind, _, off, _, _ = struct.unpack_from('<IIQQQ', b, 80 + 32 * k)
    if kind == 1 and struct.unpack_from('<I', b, off)[0] == 0:
        poff, plen, pkind = struct.unpack_from('<QIB', b, off + 32 + 24 * page)
        if pkind != 1:
            sys.exit("page %d of %s is not stored" % (page, sys.argv[1]))
        print(poff, plen)
PY
}
