#!/usr/bin/env bash
# hexz-pack recognises disk-image containers by their magic (qcow2, QED,
# VMDK, VHD dynamic and fixed, VHDX, VDI) and hexz snapshots, and refuses
# them with the command that works, instead of packing the container bytes
# as if they were the guest's disk.  The advice for qcow2 is then followed
# literally (qemu-nbd, then hexz-pack of the NBD URI) and gives the disk.
source "$srcdir/functions.sh"
requires qemu-img qemu-nbd nbdcopy

cd "$tmp"
truncate -s 8M raw.img
head -c 1M /dev/urandom | dd of=raw.img bs=64K seek=3 conv=notrunc status=none
printf 'guest data' | dd of=raw.img bs=1 seek=0 conv=notrunc status=none

check_refused() {  # FILE FORMAT-NAME
  if hexz-pack "$1" out.st 2> err; then fail "$1 ($2) was packed"; fi
  [ ! -e out.st ] || fail "$1: an output was left behind"
  grep -q "$1: a $2 image, not a raw disk" err || fail "$1: unclear error: $(cat err)"
  grep -q "qemu-nbd -r -t -f " err || fail "$1: no qemu-nbd advice: $(cat err)"
  # --memory is opened the same way.
  if hexz-pack --memory "$1" raw.img out.st 2> err; then fail "--memory $1 ($2) was packed"; fi
  grep -q "a $2 image" err || fail "--memory $1: unclear error: $(cat err)"
}

qemu-img convert -f raw -O qcow2 raw.img d.qcow2
check_refused d.qcow2 qcow2
qemu-img convert -f raw -O qed raw.img d.qed
check_refused d.qed QED
qemu-img convert -f raw -O vmdk raw.img d.vmdk
check_refused d.vmdk VMDK
qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat raw.img flat.vmdk
check_refused flat.vmdk VMDK   # the text descriptor (flat-flat.vmdk beside it is raw)
qemu-img convert -f raw -O vpc raw.img d.vhd
check_refused d.vhd VHD
qemu-img convert -f raw -O vpc -o subformat=fixed raw.img fixed.vhd
check_refused fixed.vhd VHD    # footer at the end only
qemu-img convert -f raw -O vhdx raw.img d.vhdx
check_refused d.vhdx VHDX
qemu-img convert -f raw -O vdi raw.img d.vdi
check_refused d.vdi VDI

# A snapshot given as the disk: repack it with hexz-commit --flatten.
hexz-pack raw.img good.st
if hexz-pack good.st out.st 2> err; then fail "a .st was packed as a raw disk"; fi
grep -q "good.st: a hexz snapshot, not a raw disk" err || fail "unclear error for a .st: $(cat err)"
grep -q "hexz-commit --flatten good.st" err || fail "no --flatten advice: $(cat err)"

# Raw images are still packed, also the flat VMDK's raw extent.
hexz-pack flat-flat.vmdk flat.st

# The qcow2 advice, followed: qemu-nbd serves the guest's disk, hexz-pack packs it.
qemu-nbd -r -t -f qcow2 -k "$tmp/q.sock" --fork --pid-file="$tmp/q.pid" d.qcow2
cleanup_fn 'kill $(cat "$tmp/q.pid") 2>/dev/null'
hexz-pack "nbd+unix:///?socket=$tmp/q.sock" q.st
$NBDKIT -U - "$HEXZ_PLUGIN" file=q.st --run 'nbdcopy "$uri" q.img'
cmp raw.img q.img || fail "the snapshot of the qemu-nbd export differs from the disk"

# An NBD server that serves a container's bytes as raw is caught too.
$NBDKIT -U - file d.qcow2 --run 'hexz-pack "$uri" served.st' 2> err && fail "a qcow2 served as raw was packed"
grep -q "serves the bytes of a qcow2 container" err || fail "unclear error for a served qcow2: $(cat err)"
exit 0
