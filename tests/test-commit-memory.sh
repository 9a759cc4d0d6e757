#!/usr/bin/env bash
# The memory stream: carried over from BASE by thick and thin commits (a thin
# one only refers to it), replaced by --memory, kept by --flatten.
source "$srcdir/functions.sh"
source "$srcdir/commit-functions.sh"
cd "$tmp"

size=$((2 * 1048576 + 100))
make_disk disk.img $size
head -c 1500000 /dev/urandom > mem.bin
truncate -s 3000001 mem.bin
head -c 777777 /dev/urandom > mem2.bin
hexz-pack -b 16K --memory mem.bin disk.img base.st

cat > ops.py <<'PY'
h.pwrite(b"memory test " * 1000, 4097)
h.flush()
PY
write_overlay base.st s.overlay ops.py
cp disk.img ref.img
write_raw ref.img ops.py

check() {  # SNAPSHOT EXPECTED-MEMORY
  serve_to $1 disk.out
  same ref.img disk.out "disk of $1"
  serve_to $1 mem.out memory
  same $2 mem.out "memory of $1"
}

hexz-commit --base base.st --overlay s.overlay -o thick.st
check thick.st mem.bin

# The memory stream is read from nbdkit hexz's memory export, not decoded
# in-process: nbdkit's log filter, put in front of everything hexz-commit
# starts, sees a connection to that export and reads on it.
cat > nbdkit-log <<EOF
#!/bin/sh
exec ${HEXZ_NBDKIT:-nbdkit} --filter=log "\$@" logfile=$tmp/nbdkit.log
EOF
chmod +x nbdkit-log
HEXZ_NBDKIT=$tmp/nbdkit-log hexz-commit --base base.st --overlay s.overlay -o logged.st
check logged.st mem.bin
conn=$(sed -n 's/.* connection=\([0-9]*\) Connect export=memory .*/\1/p' nbdkit.log)
[ -n "$conn" ] || fail "hexz-commit did not read the memory export: $(grep Connect nbdkit.log)"
grep -q "connection=$conn Read " nbdkit.log || fail "no reads on the memory export (connection $conn)"

hexz-commit --base base.st --overlay s.overlay -o thin.st --thin
check thin.st mem.bin
# The thin commit's memory stream is all parent references.
mblocks=$(( (3000001 + 16383) / 16384 ))
hexz-info thin.st | grep -A3 '^Stream memory' | grep -q "parent $mblocks)" ||
  fail "thin commit copied the unchanged memory stream: $(hexz-info thin.st)"

hexz-commit --base base.st --overlay s.overlay -o thinmem.st --thin --memory mem2.bin
check thinmem.st mem2.bin
hexz-commit --base base.st --overlay s.overlay -o thickmem.st --memory mem2.bin
check thickmem.st mem2.bin

hexz-commit --flatten thin.st -o flat.st
check flat.st mem.bin
hexz-info flat.st | grep -q 'parent 0)' || fail "flat.st has parent blocks"

# A missing --memory file is an error naming it, and nothing is written.
if hexz-commit --base base.st --overlay s.overlay -o bad.st --memory nosuch.bin 2> err; then
  fail "missing --memory file accepted"
fi
cat err
grep -q nosuch.bin err || fail "unclear error for a missing --memory file"
[ ! -e bad.st ] || fail "failed commit left bad.st"
