#!/usr/bin/env bash
# A commit killed half-way leaves no output and the old files intact: with
# SIGKILL nothing but a temporary file can remain, with SIGTERM not even that.
source "$srcdir/functions.sh"
source "$srcdir/commit-functions.sh"
requires md5sum
cd "$tmp"

# Random data at zstd level 19 on one thread: slow enough to kill half-way.
size=$((40 * 1048576))
head -c $size /dev/urandom > disk.img
hexz-pack -c none disk.img base.st
cat > ops.py <<'PY'
h.pwrite(b"k" * 100000, 5000)
h.flush()
PY
write_overlay base.st s.overlay ops.py
md5sum base.st s.overlay s.overlay.meta s.overlay.base > before.md5

# temp_output_grown: whether the commit's temporary output (its name in $t)
# holds more than 1 MiB yet.
temp_output_grown() {
  t=$(ls -a | grep '^\.new\.st\.' || true)
  [ -n "$t" ] && [ "$(stat -c %s "$t" 2> /dev/null || echo 0)" -gt 1048576 ]
}

# kill_half_way SIGNAL: start a commit, wait for its temporary output to grow,
# then kill it.
kill_half_way() {
  hexz-commit --base base.st --overlay s.overlay -o new.st -c zstd -l 19 -j 1 &
  pid=$!
  wait_until 30 temp_output_grown || true
  [ -n "$t" ] || fail "no temporary output appeared"
  kill -s $1 $pid
  rc=0
  wait $pid || rc=$?
  [ $rc -ne 0 ] || fail "the commit finished before SIG$1"
  echo "killed with SIG$1 (exit status $rc)"
  [ ! -e new.st ] || fail "SIG$1 left new.st"
  md5sum -c --quiet before.md5 || fail "SIG$1 changed the base or the overlay"
}

kill_half_way KILL
rm -f .new.st.*
kill_half_way TERM
if ls -a | grep -q '^\.new\.st\.'; then fail "SIGTERM left a temporary file"; fi

# The overlay still commits afterwards.
hexz-commit --base base.st --overlay s.overlay -o new.st --thin
cp disk.img ref.img
write_raw ref.img ops.py
serve_to new.st new.img
same ref.img new.img "commit after the killed ones"
