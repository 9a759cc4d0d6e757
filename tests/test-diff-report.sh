#!/usr/bin/env bash
# A report changes nothing and says what it was given: hexz-diff on a .st
# given as the overlay is refused; hexz-diff OVERLAY --files --base B never
# writes or rewrites the overlay's .base (and still refuses a base of
# another UUID, naming the real files); hexz-diff -b BASE MODIFIED without
# OUTPUT only reports, with qemu-img compare's exit codes (0 identical,
# 1 different, 2 error), and writes no file.
source "$srcdir/functions.sh"
source "$srcdir/diff-functions.sh"
requires hexz-diff hexz-pack mkfs.ext4 cmp
requires_built "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"
cd "$tmp"

make_tree a
cp -a a b
echo changed > b/data/new.txt
make_ext4 A.img 16M a
make_ext4 B.img 16M b
hexz-pack A.img A.st > /dev/null
hexz-pack B.img B.st > /dev/null

# A snapshot where the overlay belongs.
for form in "" --blocks --files --json; do
  expect_error 1 "A.st: a hexz snapshot, not an overlay" hexz-diff A.st $form
done

# --files --base on an overlay without .base: no .base appears.
hexz-diff -b A.img B.img raw.overlay > /dev/null || fail "building the overlay failed"
[ ! -e raw.overlay.base ] || fail "a raw BASE left a .base"
hexz-diff raw.overlay --files --base A.st > out || fail "--files --base failed"
grep -q '^+ - .* /data/new.txt' out || fail "--files --base does not name the new file: $(cat out)"
[ ! -e raw.overlay.base ] || fail "hexz-diff --files --base wrote raw.overlay.base"
hexz-diff raw.overlay --files --json --base A.st > /dev/null || fail "--files --json --base failed"
[ ! -e raw.overlay.base ] || fail "hexz-diff --files --json --base wrote raw.overlay.base"

# With a .base: naming the same snapshot by another path leaves it as it
# was; a snapshot of another UUID is refused with the real names.
hexz-diff -b A.st B.img st.overlay > /dev/null || fail "building the .st overlay failed"
cp st.overlay.base st.overlay.base.orig
ln -s A.st other-name.st
hexz-diff st.overlay --files --base other-name.st > /dev/null || fail "--files --base (same snapshot) failed"
cmp st.overlay.base st.overlay.base.orig || fail "hexz-diff --files rewrote st.overlay.base"
expect_error 1 "st.overlay.base: overlay st.overlay was written on top of snapshot" hexz-diff st.overlay --files --base B.st
cmp st.overlay.base st.overlay.base.orig || fail "a refused --files rewrote st.overlay.base"
truncate -s 20M C.img
: > out
: > err
ls -a > before.ls

# The report form.
report() {  # CODE PATTERN ARGS...: exit code and a line of standard output
  local code=$1 pattern=$2 rc=0
  shift 2
  hexz-diff "$@" > out 2> err || rc=$?
  [ "$rc" = "$code" ] || fail "hexz-diff $* exited $rc, expected $code: $(cat out err)"
  grep -q -- "$pattern" out || fail "hexz-diff $* did not say '$pattern': $(cat out)"
}
report 0 "^Images are identical.$" -b A.img A.st
report 0 "^Changed Blocks: 0 of 4096" -b A.st A.img
report 1 "^Images differ.$" -b A.img B.img
report 1 "^Images differ.$" -b A.st B.st
n=$(changed_blocks A.img B.img | wc -l)
grep -q "^Changed Blocks: $n of 4096" out || fail "the report counts other blocks than cmp ($n): $(cat out)"
report 1 "sizes differ" -b A.img C.img
ls -a | grep -vx after.ls > after.ls
grep -vx after.ls before.ls | cmp - after.ls || { diff before.ls after.ls; fail "the report form wrote files"; }
# Errors exit 2, usage errors too.
expect_error 2 "MODIFIED missing.img" hexz-diff -b A.img missing.img
expect_error 2 "BASE: bad.st" sh -c 'cp A.st bad.st && printf XXXX | dd of=bad.st bs=1 seek=100 conv=notrunc status=none && hexz-diff -b bad.st A.img'
expect_error 2 "-O needs an OUTPUT" hexz-diff -b A.img B.img -O st

echo OK
