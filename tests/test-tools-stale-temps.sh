#!/usr/bin/env bash
# A writer killed with SIGKILL leaves its temporary file (.NAME.XXXXXX)
# behind; the next writer of NAME removes it, because no process holds its
# lock.  A temporary file that a live process holds (flock), one modified
# in the last minute, a symbolic link and names of another shape are left
# alone.
source "$srcdir/functions.sh"
requires flock nbdkit
cd "$tmp"
truncate -s 16M disk.img
head -c 4M /dev/urandom | dd of=disk.img conv=notrunc status=none

# A pack that reads slowly (the delay filter), killed once its temporary
# file exists.  nbdkit's own exit status is not checked: nbdkit 1.32 can
# abort when a client dies while a reply is being sent (an assertion in its
# connections.c, seen in CI); what matters is what the pack left behind.
$NBDKIT -U - --filter=delay file disk.img rdelay=200ms --run '
  hexz-pack "$uri" out.st > /dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do ls .out.st.?????? > /dev/null 2>&1 && break; sleep 0.1; done
  kill -9 $pid
  wait $pid 2> /dev/null || true' 2> nbdkit.err || true
left=$(compgen -G ".out.st.??????") || fail "the killed pack left no temporary file (the test proves nothing)"
[ ! -e out.st ] || fail "the killed pack left out.st"

# The next pack, within a minute of the kill, leaves it (a writer between
# mkostemp and flock looks the same); once it is older, it goes.
hexz-pack -f disk.img out.st > /dev/null
[ -e "$left" ] || fail "a temporary file modified seconds ago was removed"
touch -d '-2 minutes' "$left"

# Others that must stay: one a live process holds, a symbolic link to a
# file, a name of another shape.
: > .out.st.HELD01
touch -d '-2 minutes' .out.st.HELD01
flock -x .out.st.HELD01 sleep 60 &
holder=$!
for _ in $(seq 50); do flock -n -x .out.st.HELD01 true 2> /dev/null || break; sleep 0.1; done
echo keep > target
ln -s target .out.st.LINK01
: > .out.st.long001
touch -h -d '-2 minutes' .out.st.LINK01 .out.st.long001 target

hexz-pack -f disk.img out.st > /dev/null
kill $holder 2> /dev/null || true
[ ! -e "$left" ] || fail "the killed pack's temporary file $left was not removed"
[ -e .out.st.HELD01 ] || fail "a temporary file held by a live process was removed"
[ -L .out.st.LINK01 ] && [ "$(cat target)" = keep ] || fail "a symbolic link (or its target) was touched"
[ -e .out.st.long001 ] || fail "a file of another name was removed"
$NBDKIT -U - -r "$HEXZ_PLUGIN" file=out.st --run 'nbdcopy "$uri" back.img'
cmp disk.img back.img || fail "the final pack is wrong"
echo "stale temporary files removed, live ones kept"
