#!/usr/bin/env bash
# The main hexz job on a built-in sample, on a fresh Debian 12 machine (run
# as root): installs the dependencies, builds hexz, makes a small real ext4
# disk image (generated text plus files of installed packages), packs it
# into a snapshot, serves it with nbdkit, writes into it through the
# copy-on-write overlay (a new file and a changed file, via FUSE), and shows
# what changed.  Everything is left in sample-run/ to look at; if a step
# fails, nothing stays mounted or running.
set -euo pipefail
top=$(cd "$(dirname "$0")" && pwd)
t0=$SECONDS
"$top/scripts/install-deps.sh"
echo "run-sample: installing the dependencies took $((SECONDS - t0))s"
t0=$SECONDS
"$top/scripts/build.sh" "$top/build"
echo "run-sample: the build took $((SECONDS - t0))s"
t0=$SECONDS

# Run everything from the build tree (nothing installed).
# (PATH and the plugin/filter paths as build/run sets them).
PATH=$("$top/build/run" printenv PATH)
export PATH
HEXZ_PLUGIN=$("$top/build/run" printenv HEXZ_PLUGIN)
HEXZ_COW_FILTER=$("$top/build/run" printenv HEXZ_COW_FILTER)
export HEXZ_PLUGIN HEXZ_COW_FILTER

out=$top/sample-run
if mountpoint -q "$out/fs" || mountpoint -q "$out/mnt"; then
  echo "$0: $out/fs or $out/mnt is still mounted (from an earlier run?); unmount it first" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$out/tree" "$out/mnt" "$out/fs"
cd "$out"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# On any failure: unmount fuse2fs (waiting for it to exit) and the
# snapshot, and stop hexz-mount (which stops its nbdkit).
fuse2fs_pid=
mount_pid=
cleanup() {
  local rc=$?
  [ "$rc" = 0 ] && return
  echo "$0: failed (exit $rc); cleaning up" >&2
  if [ -n "$fuse2fs_pid" ]; then
    mountpoint -q fs && fusermount3 -u fs
    kill "$fuse2fs_pid" 2>/dev/null || true
    wait "$fuse2fs_pid" 2>/dev/null || true
  fi
  if mountpoint -q mnt && ! hexz-unmount mnt; then
    [ -z "$mount_pid" ] || kill -TERM "$mount_pid" 2>/dev/null || true
  fi
  if [ -n "$mount_pid" ]; then
    for i in $(seq 100); do kill -0 "$mount_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "1. A real ext4 disk image (64 MiB): generated text and files of installed packages"
cp -r /usr/share/common-licenses "$out/tree/licenses"
cp -r "$(nbdkit --dump-config | sed -n 's/^plugindir=//p')" "$out/tree/nbdkit-plugins"
seq 1 100000 > "$out/tree/numbers.txt"
seq 1 3000 | awk '{ printf "line %d: the quick brown fox jumps over the lazy dog\n", $1 }' > "$out/tree/text.txt"
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
mount_pid=$(cat mnt/.hexz-mount.pid)
# fuse2fs in the foreground (as a background job), so that we can wait for
# it to exit: it closes mnt/disk only after its own unmount has returned.
fuse2fs -f -o fakeroot mnt/disk fs &
fuse2fs_pid=$!
for i in $(seq 100); do mountpoint -q fs && break; sleep 0.1; done
mountpoint -q fs || { echo "$0: fuse2fs did not mount mnt/disk on fs" >&2; exit 1; }
echo "written through hexz-cow at $(date -u)" > fs/hello.txt
seq 1 1000 >> fs/numbers.txt
sync
fusermount3 -u fs
wait "$fuse2fs_pid"
fuse2fs_pid=
hexz-unmount mnt
mount_pid=
ls -ls vm.overlay vm.overlay.meta

step "5. What changed: hexz-diff vm.overlay, then --files"
hexz-diff vm.overlay
hexz-diff vm.overlay --files

printf '\nDone.  Files are in %s\n' "$out"
echo "run-sample: the sample took $((SECONDS - t0))s"
