#!/usr/bin/env bash
# Parents, bases, overlays and side files must be regular files: a FIFO
# named as a thin snapshot's parent must not block hexz-info or nbdkit hexz
# in open() (it used to, forever), device nodes are refused, and a .meta
# larger than 8 bytes per disk block is refused before it is read.
source "$srcdir/functions.sh"
requires qemu-img timeout

cd "$tmp"
truncate -s 4M base.img
head -c 256K /dev/urandom | dd of=base.img bs=64K seek=2 conv=notrunc status=none
cp base.img mod.img
printf 'changed' | dd of=mod.img bs=4096 seek=100 conv=notrunc status=none
hexz-pack base.img base.st
hexz-diff -b base.st mod.img -O st thin.st > /dev/null

# The parent replaced by a FIFO, then by a character device.
mv base.st base.real
mkfifo base.st
# hexz-info describes the snapshot and says why its parent is missing.
timeout 20 hexz-info thin.st > info.txt || fail "hexz-info with a FIFO as the parent exited $?"
grep -q "^Parent status: MISSING (.*base.st: a snapshot must be a regular file, but this is a FIFO" info.txt ||
  fail "hexz-info does not say that the parent is a FIFO: $(cat info.txt)"
expect_error 1 "base.st: a snapshot must be a regular file, but this is a FIFO" timeout 20 hexz-info --verify thin.st
expect_error 1 "a FIFO" timeout 20 $NBDKIT -U - "$HEXZ_PLUGIN" file=thin.st --run true
expect_error 1 "a FIFO" timeout 20 hexz-commit --flatten thin.st -o flat.st
rm base.st
ln -s /dev/zero base.st
expect_error 1 "base.st: a snapshot must be a regular file, but this is a character device" \
  timeout 20 hexz-info --verify thin.st
rm base.st
mv base.real base.st
timeout 20 hexz-info thin.st > /dev/null || fail "the restored parent is refused"

# Overlays and side files.
hexz-diff -b base.st mod.img vm.overlay > /dev/null
serve() { timeout 20 $NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=base.st "$@" --run true; }
serve overlay=vm.overlay || fail "the good overlay is refused"
mkfifo fifo.overlay
expect_error 1 "fifo.overlay: an overlay must be a regular file, but this is a FIFO" serve overlay=fifo.overlay
mkfifo fifo.meta
expect_error 1 "fifo.meta: a .meta file must be a regular file, but this is a FIFO" serve overlay=vm.overlay meta=fifo.meta
mv vm.overlay.base vm.overlay.base.real
mkfifo vm.overlay.base
expect_error 1 "vm.overlay.base: a .base record must be a regular file, but this is a FIFO" serve overlay=vm.overlay
expect_error 1 "a .base record must be a regular file" timeout 20 hexz-diff vm.overlay
rm vm.overlay.base
mv vm.overlay.base.real vm.overlay.base

# A .meta of more entries than the disk has blocks (4 MiB: 1024 blocks) is
# refused by its length alone, before it is read: 1 GiB of holes here.
cp vm.overlay.meta vm.overlay.meta.good
truncate -s 1G vm.overlay.meta
expect_error 1 "vm.overlay.meta: malformed .meta: 134217728 entries, more than the disk has blocks (1024)" serve overlay=vm.overlay
expect_error 1 "more than the disk has blocks" hexz-diff vm.overlay
expect_error 1 "more than the disk has blocks" hexz-commit --base base.st --overlay vm.overlay -o new.st
mv vm.overlay.meta.good vm.overlay.meta
serve overlay=vm.overlay || fail "the restored .meta is refused"
