#!/usr/bin/env bash
# A chain of three thin commits, each on top of the previous one; a thick
# commit on a thin base; flattening; moving the whole chain; a parent
# replaced by another snapshot is refused.
source "$srcdir/functions.sh"
source "$srcdir/commit-functions.sh"
cd "$tmp"

size=$((5 * 1048576 + 4095))
make_disk ref.img $size
hexz-pack -b 32K ref.img base.st

# ops_file N: writes of session N (seeded, so that the reference gets the
# same bytes).
ops_file() {
  cat > ops$1.py <<PY
import random
rnd = random.Random($1)
size = $size
for _ in range(12):
    off = rnd.randrange(size)
    n = min(rnd.randrange(1, 20000), size - off)
    h.pwrite(rnd.randbytes(n), off)
off = rnd.randrange(size - 9000)
h.zero(9000, off)
h.pwrite(b"session $1", size - 9)
h.flush()
PY
}

parent=base.st
for n in 1 2 3; do
  ops_file $n
  write_overlay $parent s$n.overlay ops$n.py
  write_raw ref.img ops$n.py
  cp ref.img ref$n.img
  hexz-commit --thin --base $parent --overlay s$n.overlay --output c$n.st -m "session $n"
  serve_to c$n.st c$n.img
  same ref$n.img c$n.img "thin commit $n"
  info_field c$n.st "^Parent: $parent " | grep -q . || fail "c$n.st does not refer to $parent"
  parent=c$n.st
done

# A thick commit on top of a thin snapshot is standalone.
hexz-commit --base c2.st --overlay s3.overlay --output thick3.st
serve_to thick3.st thick3.img
same ref3.img thick3.img "thick commit on a thin base"
info_field thick3.st '^Parent: none' | grep -q . || fail "thick3.st has a parent"

# Flatten.
hexz-commit --flatten c3.st --output flat.st
info_field flat.st '^Parent: none' | grep -q . || fail "flat.st has a parent"
info_field flat.st '^Message: session 3$' | grep -q . || fail "flatten lost the message"
hexz-info flat.st | grep -q 'parent 0)' || fail "flat.st has parent blocks"
serve_to flat.st flat.img
same ref3.img flat.img "flattened chain"
# It stands alone.
mkdir alone && cp flat.st alone/
serve_to alone/flat.st alone.img
same ref3.img alone.img "flattened copy moved alone"

# Move the whole chain: relative parent paths keep it working.
mkdir -p moved/deeper
mv base.st c1.st c2.st c3.st moved/deeper/
serve_to moved/deeper/c3.st moved3.img
same ref3.img moved3.img "moved chain"
hexz-commit --flatten moved/deeper/c3.st --output moved/flat.st
serve_to moved/flat.st movedflat.img
same ref3.img movedflat.img "flatten of the moved chain"
# Committing on top of the moved chain works too.
ops_file 4
write_overlay moved/deeper/c3.st s4.overlay ops4.py
write_raw ref.img ops4.py
hexz-commit --thin --base moved/deeper/c3.st --overlay s4.overlay --output c4.st
serve_to c4.st c4.img
same ref.img c4.img "thin commit on the moved chain"

# Replace c1.st by another snapshot (even one with the same contents): its
# UUID differs, so everything above it is refused.
hexz-commit --flatten moved/deeper/c1.st --output other.st
mv other.st moved/deeper/c1.st
if hexz-commit --flatten moved/deeper/c3.st --output bad.st 2> err; then
  fail "flatten over a swapped parent succeeded"
fi
cat err
grep -q "UUID" err || fail "no clear message about the swapped parent"
grep -q "c1.st" err || fail "the message does not name the swapped parent"
if hexz-commit --thin --base moved/deeper/c3.st --overlay s4.overlay --output bad.st --force-base 2> err; then
  fail "commit over a swapped parent succeeded"
fi
cat err
grep -q "UUID" err || fail "no clear message about the swapped parent (commit)"
[ ! -e bad.st ] || fail "a refused commit left its output"
ls -a moved/deeper | grep -q '^\.bad' && fail "a refused commit left a temporary file"
exit 0
