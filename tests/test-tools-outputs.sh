#!/usr/bin/env bash
# The writing tools check where they write before doing any work
# (hexz-pack, hexz-commit, hexz-diff -b): an output that is an input (same
# path, symlink, hard link) is refused and the input is left intact; an
# existing directory, a missing or unwritable directory and an existing
# file (without -f) are refused before a single byte of the input is read.
source "$srcdir/functions.sh"
requires setpriv

cd "$tmp"
truncate -s 16M disk.img
head -c 2M /dev/urandom | dd of=disk.img conv=notrunc status=none
cp disk.img keep.img
ln -s disk.img link.img
ln disk.img hard.img

refused() {  # refused WHAT PATTERN CMD...: CMD must fail, saying PATTERN
  local what=$1 pattern=$2
  shift 2
  if "$@" > out 2> err; then fail "$what: succeeded"; fi
  grep -q -- "$pattern" err || fail "$what: unclear error: $(cat err)"
}

# hexz-pack: the output is the input, by any name.
for out in disk.img ./disk.img "$tmp/disk.img" link.img hard.img; do
  refused "pack onto $out" "refusing to overwrite the input" hexz-pack disk.img "$out"
  refused "pack -f onto $out" "refusing to overwrite the input" hexz-pack -f disk.img "$out"
  refused "pack --memory onto $out" "refusing to overwrite the input" hexz-pack --memory disk.img keep.img "$out"
done
cmp disk.img keep.img || fail "an input was changed"
[ -L link.img ] || fail "the symlink was replaced"
[ "$(stat -c %h disk.img)" = 2 ] || fail "the hard link was broken"

# Directories and existing files.
mkdir dir
refused "pack into a directory" "is a directory" hexz-pack disk.img dir
refused "pack into dir/" "is a directory" hexz-pack disk.img dir/
refused "pack into a missing directory" "No such file or directory" hexz-pack disk.img nodir/a.st
hexz-pack disk.img a.st
cp a.st a.keep
refused "pack over an existing file" "exists already" hexz-pack -c lz4 disk.img a.st
cmp a.st a.keep || fail "an existing output was changed without -f"
hexz-pack -f -c lz4 disk.img a.st
cmp -s a.st a.keep && fail "-f did not replace the output"
hexz-pack --force disk.img a.st

# An unwritable directory, for a process that file permissions bind (root
# without its override capabilities).
mkdir ro && chmod 0555 ro
refused "pack into a read-only directory" "cannot create files in the output's directory" \
  without_dac hexz-pack disk.img ro/a.st

# Nothing is read before those errors: the input is served by nbdkit
# through its log filter, which records every request.
for bad in dir dir/ a.st nodir/a.st disk.img; do
  rm -f log
  $NBDKIT -U - --filter=log file disk.img logfile="$tmp/log" \
    --run "hexz-pack \"\$uri\" $bad" 2> err && fail "pack over NBD into $bad succeeded"
  if grep -Eq ' (Read|Extents) ' log 2>/dev/null; then fail "pack into $bad read its input before refusing"; fi
done
rm -f log
$NBDKIT -U - --filter=log file disk.img logfile="$tmp/log" --run 'hexz-pack "$uri" nbd.st'
grep -Eq ' Read ' log || fail "the log filter records no reads (the check above proves nothing)"

# hexz-commit: the same checks for --output, before BASE is even opened.
refused "commit -o a directory" "is a directory" hexz-commit --flatten a.st -o /tmp
refused "commit -o dir/" "is a directory" hexz-commit --flatten a.st -o dir/
refused "commit onto its input" "refusing to overwrite the input" hexz-commit --flatten a.st -o a.st
ln -s a.st a-link.st
refused "commit onto a symlink to its input" "refusing to overwrite the input" \
  hexz-commit --flatten a-link.st -o a.st
refused "commit over an existing file" "exists already" hexz-commit --flatten a.st -o a.keep
hexz-commit --flatten a.st -o flat.st
hexz-commit -f --flatten a.st -o flat.st
hexz-diff -b a.st disk.img ov.overlay
for out in a.st ov.overlay ov.overlay.meta ov.overlay.base; do
  refused "commit onto $out" "refusing to overwrite the input" \
    hexz-commit -f --base a.st --overlay ov.overlay -o "$out"
done
refused "commit of a missing base into a directory" "is a directory" \
  hexz-commit --base missing.st --overlay ov.overlay -o dir

# hexz-diff -b: OUTPUT and its side files.
refused "diff into a directory" "is a directory" hexz-diff -b a.st disk.img dir
refused "diff onto its input" "refusing to overwrite the input" hexz-diff -b a.st disk.img hard.img
refused "diff -O st onto its base" "refusing to overwrite the input" hexz-diff -b a.st disk.img -O st a.st
refused "diff over an existing overlay" "exists already" hexz-diff -b a.st disk.img ov.overlay
cp keep.img vm.overlay.meta
refused "diff whose .meta would be its input" "refusing to overwrite the input" \
  hexz-diff -f -b a.st vm.overlay.meta vm.overlay
cmp vm.overlay.meta keep.img || fail "an input named like a side file was changed"
hexz-diff -f -b a.st disk.img ov.overlay
cmp disk.img keep.img || fail "an input was changed"
