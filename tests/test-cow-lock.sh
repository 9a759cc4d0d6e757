#!/usr/bin/env bash
# One overlay, one server (docs/format.md 2.4): a second nbdkit with the
# hexz-cow filter on an overlay another nbdkit serves exits at start-up,
# non-zero, naming the holder's pid, and changes none of the overlay's files;
# the pid is the process that serves, also after nbdkit forked into the
# background; the lock goes with the process (kill -9 leaves nothing that
# blocks the next server); hexz-commit and hexz-diff --files name the
# holder too.
source "$srcdir/functions.sh"
requires nbdsh nbdinfo

head -c $((4 * 1024 * 1024)) /dev/urandom > "$tmp/disk.img"
hexz-pack "$tmp/disk.img" "$tmp/a.st" > /dev/null
cd "$tmp"

# second WHO: a second nbdkit on a.overlay must not start and must name WHO.
second() {
  expect_error 1 "overlay in use by pid $1 " \
    $NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=a.st overlay=a.overlay --run 'nbdinfo "$uri"'
  # Failed before serving: nbdinfo never ran, nbdkit said nothing else.
  ! grep -q 'export-size' "$tmp/out" || fail "the second nbdkit served: $(cat "$tmp/out")"
  grep -q 'stop it first' "$tmp/err" || fail "no advice: $(cat "$tmp/err")"
}

# state: the overlay's files (whatever the side files are named) and their
# contents.
state() {
  local f
  for f in *; do
    case $f in a.st | disk.img | sock* | dsock* | out | err) ;; *) sha256sum "$f" ;; esac
  done
}

# A server in the foreground, with something written and flushed.
start_nbdkit "$tmp/sock" --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=a.st overlay=a.overlay
nbdsh -u "nbd+unix:///?socket=$tmp/sock" -c 'h.pwrite(b"x" * 8192, 4096); h.flush()'
before=$(state)
[ "$(echo "$before" | wc -l)" -ge 3 ] || fail "no side files were written: $before"
second "$nbdkit_pid"
# The refused server wrote nothing (not even the .base record).
[ "$(state)" = "$before" ] || fail "the refused nbdkit changed the overlay's files: $(state)"
# Also when the second one is read-only (-r): the writer's lock is exclusive.
expect_error 1 "overlay in use by pid $nbdkit_pid " \
  $NBDKIT -r -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=a.st overlay=a.overlay --run 'nbdinfo "$uri"'
# hexz-commit names it as well.
expect_error 1 "overlay in use by pid $nbdkit_pid " hexz-commit --base a.st --overlay a.overlay -o c.st
[ ! -e c.st ] || fail "hexz-commit wrote an output for an overlay in use"
# So does hexz-diff --files (which serves the overlay too), naming the
# overlay itself, not the private link its nbdkit would be given.
expect_error 1 "a.overlay: overlay in use by pid $nbdkit_pid " hexz-diff a.overlay --files --base a.st
# The block count reads only .meta: still answered.
hexz-diff a.overlay > /dev/null || fail "hexz-diff's block count refused an overlay in use"

# kill -9: no stale lock, the next server starts.
kill -9 "$nbdkit_pid"
wait_until 10 eval '! running $nbdkit_pid' || fail "nbdkit did not die"
nbdkit_pid=
$NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=a.st overlay=a.overlay --run 'nbdinfo "$uri"' \
  > /dev/null || fail "a killed server's lock outlived it"

# A server that forks into the background (no -f): the pid named is the
# daemon's own, as its PID file says, not the parent's that exited.
rm -f "$tmp/dsock" "$tmp/dsock.pid"
$NBDKIT -U "$tmp/dsock" -P "$tmp/dsock.pid" --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=a.st overlay=a.overlay
wait_until 30 test -s "$tmp/dsock.pid" || fail "the daemon did not write its PID file"
daemon=$(cat "$tmp/dsock.pid")
cleanup_fn "kill $daemon 2>/dev/null"
second "$daemon"
kill "$daemon"
wait_until 10 eval '! running $daemon' || fail "the daemon did not exit"

exit 0
