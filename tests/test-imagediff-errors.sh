#!/usr/bin/env bash
# hexz-diff -b: size mismatches, --allow-grow, unreadable or wrong inputs and
# bad arguments give clear errors, a non-zero exit and no output files.
source "$srcdir/functions.sh"
requires hexz-diff hexz-pack nbdkit nbdcopy cmp
cd "$tmp"

no_output() {
  for f in "$@"; do [ ! -e "$f" ] || fail "$f was written although the command failed"; done
  ls -a | grep -q '^\.o.*\.' && { ls -la; fail "a temporary file was left behind"; }
  return 0
}

head -c 4M /dev/urandom > A.img
cp A.img B.img
dd if=/dev/urandom of=B.img bs=4096 seek=10 count=2 conv=notrunc status=none
hexz-pack A.img A.st
# BIG: B grown by 1 MiB plus a partial block, with data in the new part.
cp B.img BIG.img
truncate -s $((5 * 1024 * 1024 + 100)) BIG.img
printf 'grown' | dd of=BIG.img bs=1 seek=$((5 * 1024 * 1024 + 10)) conv=notrunc status=none

# Size mismatch: refused, both sizes named, nothing written.
expect_error 1 "sizes differ" hexz-diff -b A.img BIG.img o.overlay
grep -q "4194304" "$tmp/err" && grep -q "5242980" "$tmp/err" || fail "the sizes are not stated"
no_output o.overlay o.overlay.meta
# MODIFIED smaller: refused even with --allow-grow.
expect_error 1 "smaller" hexz-diff --allow-grow -b BIG.img A.img o.overlay
# --allow-grow cannot make an overlay larger than its base.
expect_error 1 "use -O st" hexz-diff --allow-grow -b A.st BIG.img o.overlay
no_output o.overlay o.overlay.meta
# --allow-grow -O st: works, says so, and the thin snapshot serves BIG.
hexz-diff --allow-grow -b A.st BIG.img -O st grown.st > out.txt 2> err.txt || fail "--allow-grow -O st failed"
grep -q "note:.*sizes differ\|note:.*bytes" err.txt || fail "--allow-grow did not say that the sizes differ"
$NBDKIT -U - -r "$HEXZ_PLUGIN" file=grown.st --run 'nbdcopy "$uri" R.img'
cmp R.img BIG.img || fail "the grown thin snapshot does not reproduce MODIFIED"

# Unreadable and wrong inputs.
expect_error 1 "BASE missing.img.*No such file" hexz-diff -b missing.img B.img o.overlay
expect_error 1 "MODIFIED missing.img.*No such file" hexz-diff -b A.img missing.img o.overlay
mkdir adir
expect_error 1 "BASE adir: not a regular file or block device" hexz-diff -b adir B.img o.overlay
# A FIFO is refused at once, not waited on for a writer.
mkfifo f.fifo
expect_error 1 "MODIFIED f.fifo: not a regular file or block device" timeout 30 hexz-diff -b A.img f.fifo o.overlay
chmod 000 B.img
if ! head -c1 B.img > /dev/null 2>&1; then  # root reads anything
  expect_error 1 "MODIFIED B.img.*Permission denied" hexz-diff -b A.img B.img o.overlay
fi
chmod 644 B.img
cp A.st bad.st
printf 'XXXX' | dd of=bad.st bs=1 seek=100 conv=notrunc status=none  # header checksum breaks
expect_error 1 "BASE: bad.st" hexz-diff -b bad.st B.img o.overlay
expect_error 1 "qcow2" sh -c 'printf "QFI\373" > q.img && truncate -s 4M q.img && hexz-diff -b q.img B.img o.overlay'
expect_error 1 "MODIFIED nbd+unix:///?socket=$tmp/nosock" hexz-diff -b A.img "nbd+unix:///?socket=$tmp/nosock" o.overlay
expect_error 1 "needs BASE to be a .st" hexz-diff -b A.img B.img -O st t.st
no_output o.overlay o.overlay.meta t.st

# Output over an input.
cp B.img B0.img
expect_error 1 "refusing to overwrite the input" hexz-diff -b A.img B.img B.img
cmp B.img B0.img || fail "MODIFIED was overwritten"

# Usage errors exit 2.
expect_error 2 "expected -b BASE MODIFIED \[OUTPUT\]" hexz-diff -b A.img B.img C.img D.img
expect_error 2 "-O must be" hexz-diff -b A.img B.img o.overlay -O qcow2
expect_error 2 "checksum must be" hexz-diff --files -b A.img B.img --checksum=crc
hexz-diff -b x --help | grep -q "hexz-diff -b BASE MODIFIED OUTPUT" || fail "--help does not describe image mode"

echo OK
