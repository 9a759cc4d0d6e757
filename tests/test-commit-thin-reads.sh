#!/usr/bin/env bash
# A thin commit reads only the blocks the overlay touched: with a damaged
# block elsewhere in the base, the thick commit fails (naming the damage)
# while the thin one succeeds and is exact wherever the base is readable.
source "$srcdir/functions.sh"
source "$srcdir/commit-functions.sh"
cd "$tmp"

size=$((4 * 1048576))
head -c $size /dev/urandom > disk.img
hexz-pack -b 64K -c none disk.img base.st
cat > ops.py <<'PY'
h.pwrite(b"x" * 3000, 65536 * 3 + 10)
h.flush()
PY
write_overlay base.st s.overlay ops.py
cp disk.img ref.img
write_raw ref.img ops.py

# Damage the stored bytes of disk block 40 (the overlay touched block 3).
# Random blocks packed with -c none are stored raw in block order from the
# start of the data area, before the index page that describes them
# (docs/format.md 1.4), so block 40 starts at 4096 + 40 * 65536.
python3 - <<'PY'
f = open("base.st", "r+b")
off = 4096 + 40 * 65536 + 65536 // 2
f.seek(off)
b = f.read(1)
f.seek(off)
f.write(bytes([b[0] ^ 0xff]))
PY

if hexz-commit --base base.st --overlay s.overlay -o thick.st 2> err; then
  fail "thick commit over a damaged block succeeded"
fi
cat err
[ ! -e thick.st ] || fail "failed thick commit left thick.st"

hexz-commit --thin --base base.st --overlay s.overlay -o thin.st
# Compare everything but the damaged block (which reads as an error).
rm -f part.img
$NBDKIT -U - -r "$HEXZ_PLUGIN" file=thin.st --run '
  nbdsh -u "$uri" -c "
f = open(\"part.img\", \"wb\")
f.write(h.pread(40 * 65536, 0))
f.write(bytes(65536))
f.write(h.pread('$size' - 41 * 65536, 41 * 65536))
"'
head -c $((40 * 65536)) ref.img > want.img
head -c 65536 /dev/zero >> want.img
tail -c +$((41 * 65536 + 1)) ref.img >> want.img
same want.img part.img "thin commit over a damaged base"
