# Helpers for the hexz-mount tests (test-mount-*.sh), sourced after
# functions.sh.  Every mount made through them is unmounted at exit.

requires hexz-mount hexz-unmount hexz-pack fusermount3 mountpoint cmp od
if [ ! -c /dev/fuse ] || [ ! -r /dev/fuse ] || [ ! -w /dev/fuse ]; then
  echo "$0: SKIP: /dev/fuse is not available to this user"
  exit $SKIP
fi
for so in "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"; do
  if [ ! -f "$so" ]; then
    echo "$0: SKIP: $so is not built"
    exit $SKIP
  fi
done

# mnt DIR ARGS...: hexz-mount --daemon ARGS DIR (creating DIR), unmounted
# at exit if the test has not done it.
mnt() {
  local dir=$1
  shift
  mkdir -p "$dir"
  cleanup_fn "mountpoint -q '$dir' && hexz-unmount '$dir'"
  hexz-mount --daemon "$@" "$dir"
}

# umnt DIR: hexz-unmount DIR, and check that nothing is mounted there.
umnt() {
  hexz-unmount "$1"
  if mountpoint -q "$1"; then fail "$1 is still mounted after hexz-unmount"; fi
}

# make_snapshot NAME: $tmp/NAME.raw (a 16 MiB ext4 image of real files),
# $tmp/NAME.mem (a memory dump) and $tmp/NAME.st holding both.
make_snapshot() {
  make_tree "$tmp/$1.tree"
  make_ext4 "$tmp/$1.raw" 16M "$tmp/$1.tree"
  { head -c 1000000 /dev/urandom; seq 1 100000; } > "$tmp/$1.mem"
  hexz-pack --memory="$tmp/$1.mem" "$tmp/$1.raw" "$tmp/$1.st"
}
