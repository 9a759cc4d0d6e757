#!/usr/bin/env bash
# hexz-unmount on a busy mount: it waits (saying so after a second) for a
# program that lets go of its file in time, and otherwise fails naming the
# processes that still hold files in the mount (pid and command line),
# leaving the mount in place.
source "$srcdir/functions.sh"
source "$srcdir/mount-functions.sh"

make_snapshot a
m=$tmp/m

# The wait: the holder closes its file only once hexz-unmount has said that
# it waits, so hexz-unmount must wait for it and then succeed.
mnt "$m" "$tmp/a.st"
(
  exec 3< "$m/disk"
  touch "$tmp/opened"
  wait_until 30 grep -qs waiting "$tmp/wait.out" || true
) &
holder=$!
wait_until 30 test -e "$tmp/opened" || fail "the holder did not open $m/disk"
rc=0
hexz-unmount "$m" 2> "$tmp/wait.out" || rc=$?
wait $holder
[ "$rc" = 0 ] || fail "hexz-unmount did not wait for the holder (rc=$rc): $(cat "$tmp/wait.out")"
grep -q "$m is busy; waiting up to 5s" "$tmp/wait.out" || fail "no waiting message: $(cat "$tmp/wait.out")"
if mountpoint -q "$m"; then fail "$m is still mounted after the holder closed its file"; fi

# The failure: two holders that keep their files (an open file, a current
# directory) are both named, and the mount stays.
mnt "$m" "$tmp/a.st"
sleep 300 < "$m/disk" &
reader=$!
(cd "$m" && exec sleep 301) &
cwd=$!
cleanup_fn "kill $reader $cwd 2>/dev/null"
holding() { [ "$(readlink /proc/$reader/fd/0)" = "$m/disk" ] && [ "$(readlink /proc/$cwd/cwd)" = "$m" ]; }
wait_until 10 holding || fail "the holders did not start"
rc=0
hexz-unmount --timeout 1.5 "$m" 2> "$tmp/busy.out" || rc=$?
[ "$rc" = 1 ] || fail "busy unmount: rc=$rc, not 1: $(cat "$tmp/busy.out")"
grep -q "$m is busy: still used by" "$tmp/busy.out" || fail "busy message: $(cat "$tmp/busy.out")"
grep -q "pid $reader (sleep 300)" "$tmp/busy.out" || fail "the reader (pid $reader) is not named: $(cat "$tmp/busy.out")"
grep -q "pid $cwd (sleep 301)" "$tmp/busy.out" || fail "the process in the mount (pid $cwd) is not named: $(cat "$tmp/busy.out")"
if grep -q "pid $$ " "$tmp/busy.out"; then fail "the test shell, which holds nothing, is named: $(cat "$tmp/busy.out")"; fi
mountpoint -q "$m" || fail "a busy mount was unmounted"
cmp "$m/disk" "$tmp/a.raw" || fail "the busy mount no longer serves the disk"

# --timeout 0 tries once; once the holders are gone the unmount works.
rc=0
hexz-unmount -t 0 "$m" 2> "$tmp/once.out" || rc=$?
[ "$rc" = 1 ] && grep -q "pid $reader (sleep 300)" "$tmp/once.out" || fail "-t 0: rc=$rc $(cat "$tmp/once.out")"
if grep -q waiting "$tmp/once.out"; then fail "-t 0 waited: $(cat "$tmp/once.out")"; fi
kill $reader $cwd
wait $reader $cwd 2>/dev/null || true
umnt "$m"

# Usage errors.
rc=0
hexz-unmount --timeout soon "$m" 2> "$tmp/usage.out" || rc=$?
[ "$rc" = 2 ] && grep -q "not a number of seconds" "$tmp/usage.out" || fail "--timeout soon: rc=$rc $(cat "$tmp/usage.out")"
