#!/usr/bin/env bash
# hexz-pack's inputs: holes in sparse files are skipped without being read,
# an NBD URI (a qcow2 served by qemu-nbd, and nbdkit) packs to the same
# blocks as the raw file, and a block device path is accepted as a file.
source "$srcdir/functions.sh"
requires qemu-img qemu-nbd nbdkit mkfs.ext4

# json_field FILE KEY: KEY of the disk stream in hexz-info --json output.
json_field() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["streams"]["disk"][sys.argv[2]])' "$1" "$2"; }

# A sparse file: 64 MiB with data in two places only.
truncate -s 64M "$tmp/sparse.img"
head -c 100000 /dev/urandom | dd of="$tmp/sparse.img" bs=4096 seek=1000 conv=notrunc status=none
seq 1 20000 | dd of="$tmp/sparse.img" bs=4096 seek=12000 conv=notrunc status=none
hexz-pack -b 64K "$tmp/sparse.img" "$tmp/sparse.st"
hexz-info --json "$tmp/sparse.st" > "$tmp/i.json"
data=$(json_field "$tmp/i.json" data_blocks)
# The data is in 64K blocks 62..63 (100000 bytes at 4096000) and 750..751.
[ "$data" -ge 2 ] && [ "$data" -le 5 ] || fail "sparse file packed to $data data blocks"
# hexz-pack must not read holes: strace would be ideal; instead check that a
# file that is *all* hole packs to no data at all, quickly.
truncate -s 2T "$tmp/huge-hole.img"
timeout 60 hexz-pack -b 1M "$tmp/huge-hole.img" "$tmp/hole.st" || fail "packing a 2 TiB hole took too long"
hexz-info --json "$tmp/hole.st" > "$tmp/h.json"
[ "$(json_field "$tmp/h.json" data_blocks)" = 0 ] || fail "hole stored data"
[ "$(stat -c %s "$tmp/hole.st")" -lt $((60 << 20)) ] || fail "hole snapshot too big"

# The same disk as raw, through nbdkit, and as qcow2 through qemu-nbd.
make_tree "$tmp/tree"
make_ext4 "$tmp/disk.img" 32M "$tmp/tree"
hexz-pack "$tmp/disk.img" "$tmp/raw.st"
hexz-info --json "$tmp/raw.st" > "$tmp/raw.json"

$NBDKIT -U - -r file "$tmp/disk.img" --run 'hexz-pack "$uri" '"$tmp/nbd.st"
hexz-info --json "$tmp/nbd.st" > "$tmp/nbd.json"

qemu-img convert -O qcow2 "$tmp/disk.img" "$tmp/disk.qcow2"
start_server qemu_nbd_pid "[ -S '$tmp/q.sock' ]" qemu-nbd -r -t -f qcow2 -k "$tmp/q.sock" "$tmp/disk.qcow2"
hexz-pack "nbd+unix:///?socket=$tmp/q.sock" "$tmp/qcow.st"
hexz-info --json "$tmp/qcow.st" > "$tmp/qcow.json"

for f in size blocks data_blocks zero_blocks stored_bytes; do
  r=$(json_field "$tmp/raw.json" $f)
  [ "$r" = "$(json_field "$tmp/nbd.json" $f)" ] || fail "nbdkit source differs in $f"
  [ "$r" = "$(json_field "$tmp/qcow.json" $f)" ] || fail "qcow2 source differs in $f"
done

# Errors name the input.
set +e
hexz-pack "$tmp/missing.img" "$tmp/m.st" 2> "$tmp/err"; rc=$?
set -e
[ $rc = 1 ] && grep -q "missing.img" "$tmp/err" || fail "missing input: exit $rc, $(cat "$tmp/err")"
set +e
hexz-pack "nbd+unix:///?socket=$tmp/no.sock" "$tmp/m.st" 2> "$tmp/err"; rc=$?
set -e
[ $rc = 1 ] && grep -q "no.sock" "$tmp/err" || fail "bad URI: exit $rc, $(cat "$tmp/err")"
set +e
hexz-pack "$tmp" "$tmp/m.st" 2> "$tmp/err"; rc=$?
set -e
[ $rc = 1 ] && grep -q "not a regular file or block device" "$tmp/err" || fail "directory input accepted"
[ ! -e "$tmp/m.st" ] || fail "output left behind after an error"
