#!/usr/bin/env bash
# hexz-commit's handling of the overlay's files: the .base record must name
# BASE (unless --force-base), --remove-overlay removes the overlay, .meta and
# .base only after a successful commit, an overlay in use is refused, and bad
# arguments give clear errors without touching anything.
source "$srcdir/functions.sh"
source "$srcdir/commit-functions.sh"
cd "$tmp"

size=$((3 * 1048576 + 777))
make_disk a.img $size
make_disk b.img $size
make_disk c.img $((size + 4096))
hexz-pack a.img a.st
hexz-pack b.img b.st
hexz-pack c.img c.st

cat > ops.py <<'PY'
h.pwrite(b"changed by the session " * 300, 123457)
h.zero(5000, 1048576 + 3)
h.flush()
PY
write_overlay a.st s.overlay ops.py
[ -f s.overlay.meta ] && [ -f s.overlay.base ] || fail "the filter wrote no .meta or .base"
grep -q "^uuid=" s.overlay.base || fail "s.overlay.base has no uuid"
sums() { md5sum s.overlay s.overlay.meta s.overlay.base a.st; }
sums > before.md5

# An overlay written on a.st is refused on b.st (same size, other UUID) and
# on c.st (other UUID and size), naming the record; nothing is written and
# nothing is removed, even with --remove-overlay.
for other in b.st c.st; do
  if hexz-commit --base $other --overlay s.overlay -o new.st --remove-overlay 2> err; then
    fail "commit of a.st's overlay on $other succeeded"
  fi
  cat err
  grep -q "s.overlay.base" err && grep -q "a.st" err || fail "unclear refusal on $other"
  [ ! -e new.st ] || fail "refused commit wrote new.st"
  md5sum -c --quiet before.md5 || fail "refused commit changed the overlay or base"
done

# --force-base lays the overlay's 4 KiB blocks (as written on a.st) over b.st.
cp s.overlay f.overlay
cp s.overlay.meta f.overlay.meta
cp s.overlay.base f.overlay.base
hexz-commit --base b.st --overlay f.overlay -o forced.st --force-base
cp a.img aref.img
write_raw aref.img ops.py
python3 -c '
import struct
m = open("s.overlay.meta", "rb").read()
a = open("aref.img", "rb").read()
with open("b.img", "rb") as f: b = bytearray(f.read())
for i in struct.unpack("<%dQ" % (len(m) // 8), m):
    b[i * 4096:(i + 1) * 4096] = a[i * 4096:(i + 1) * 4096]
open("bref.img", "wb").write(b)'
serve_to forced.st forced.img
same bref.img forced.img "forced commit on b.st"

# A missing overlay is an error naming it (and is not created).
if hexz-commit --base a.st --overlay missing.overlay -o new.st 2> err; then fail "missing overlay accepted"; fi
cat err
grep -q "missing.overlay" err || fail "unclear error for a missing overlay"
[ ! -e missing.overlay ] && [ ! -e new.st ] || fail "missing overlay: files were created"

# The output may not replace the base or the overlay's files.
for out in a.st s.overlay s.overlay.meta; do
  if hexz-commit --base a.st --overlay s.overlay -o $out 2> err; then fail "output $out accepted"; fi
  cat err
done
md5sum -c --quiet before.md5 || fail "refused outputs changed the overlay or base"

# Usage errors exit with 2.
set +e
hexz-commit --base a.st --overlay s.overlay 2> /dev/null; [ $? -eq 2 ] || fail "missing --output: not exit 2"
hexz-commit --flatten a.st --thin -o x.st 2> /dev/null; [ $? -eq 2 ] || fail "--flatten --thin: not exit 2"
hexz-commit --base a.st -o x.st 2> /dev/null; [ $? -eq 2 ] || fail "missing --overlay: not exit 2"
hexz-commit -b 3K --base a.st --overlay s.overlay -o x.st 2> /dev/null; [ $? -eq 2 ] || fail "-b 3K: not exit 2"
set -e
hexz-commit --help | grep -q -- --remove-overlay || fail "--help does not document --remove-overlay"
hexz-commit --version | grep -q '^hexz-commit ' || fail "--version"

# An overlay a running nbdkit is writing to is refused.
$NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=a.st overlay=s.overlay --run '
  nbdsh -u "$uri" -c "h.pwrite(b\"x\" * 10, 0); h.flush()" &&
  if hexz-commit --base a.st --overlay s.overlay -o busy.st 2> busy.err; then exit 1; fi' ||
  fail "commit of an overlay in use succeeded"
cat busy.err
grep -q "in use" busy.err || fail "unclear error for an overlay in use"
[ ! -e busy.st ] || fail "refused commit wrote busy.st"
cp a.img ref.img
write_raw ref.img ops.py
printf 'x%.0s' {1..10} | dd of=ref.img conv=notrunc status=none
sums > before.md5

# --remove-overlay after a failure (the output directory does not exist)
# keeps everything.
if hexz-commit --base a.st --overlay s.overlay -o nodir/new.st --remove-overlay 2> err; then
  fail "commit into a missing directory succeeded"
fi
cat err
md5sum -c --quiet before.md5 || fail "failed commit with --remove-overlay touched the overlay"

# After a successful one the overlay, .meta and .base are gone, and the
# new snapshot holds the changes.
hexz-commit --base a.st --overlay s.overlay -o new.st --remove-overlay --thin
[ ! -e s.overlay ] && [ ! -e s.overlay.meta ] && [ ! -e s.overlay.base ] || fail "--remove-overlay left files: $(ls)"
serve_to new.st new.img
same ref.img new.img "commit with --remove-overlay"
