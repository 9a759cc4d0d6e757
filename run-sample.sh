#!/usr/bin/env bash
# The main hexz job on a built-in sample, on a fresh Debian 12 machine (run
# as root): installs the dependencies, builds hexz, makes a small real ext4
# disk image from files on this machine, packs it into a snapshot, serves
# it with nbdkit, writes into it through the copy-on-write overlay (a new
# file and a changed file, via FUSE), and shows what changed.
# Everything is left in sample-run/ to look at.
set -euo pipefail
top=$(cd "$(dirname "$0")" && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh" "$top/build"

# Run everything from the build tree (nothing installed).
# (PATH and the plugin/filter paths as build/run sets them).
PATH=$("$top/build/run" printenv PATH)
export PATH
HEXZ_PLUGIN=$("$top/build/run" printenv HEXZ_PLUGIN)
HEXZ_COW_FILTER=$("$top/build/run" printenv HEXZ_COW_FILTER)
export HEXZ_PLUGIN HEXZ_COW_FILTER

out=$top/sample-run
rm -rf "$out"
mkdir -p "$out/tree" "$out/mnt" "$out/fs"
cd "$out"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. A real ext4 disk image (64 MiB) made from files on this machine"
cp -r /usr/share/common-licenses /etc/ssl "$out/tree/" 2>/dev/null || true
cp -r /usr/share/doc/e2fsprogs /usr/share/doc/nbdkit "$out/tree/" 2>/dev/null || true
seq 1 100000 > "$out/tree/numbers.txt"
truncate -s 64M disk.img
mkfs.ext4 -q -F -L hexz-sample -d "$out/tree" disk.img
ls -ls disk.img

step "2. Pack it: hexz-pack -p disk.img disk.st"
hexz-pack -p disk.img disk.st
hexz-info disk.st

step "3. Serve it: nbdkit hexz file=disk.st (nbdinfo, and a byte-exact copy)"
nbdkit -U - -r "$HEXZ_PLUGIN" file=disk.st --run 'nbdinfo "$uri" && nbdcopy "$uri" copy.img'
cmp disk.img copy.img && echo "nbdcopy of the served disk is identical to disk.img"

step "4. Write through the overlay: hexz-mount --rw --overlay vm.overlay, then fuse2fs"
hexz-mount --rw --overlay vm.overlay --daemon disk.st mnt
fuse2fs -o fakeroot mnt/disk fs
echo "written through hexz-cow at $(date -u)" > fs/hello.txt
seq 1 1000 >> fs/numbers.txt
sync
fusermount3 -u fs
hexz-unmount mnt
ls -ls vm.overlay vm.meta

step "5. What changed: hexz-diff vm.overlay, then --files"
hexz-diff vm.overlay
hexz-diff vm.overlay --files

printf '\nDone.  Files are in %s\n' "$out"
