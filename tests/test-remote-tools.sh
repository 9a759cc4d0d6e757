#!/usr/bin/env bash
# The tools take a URL wherever they take a .st: hexz-info (and --verify),
# hexz-diff -b, an overlay on a URL base (its .base record stores the URL),
# hexz-diff OVERLAY --files --base URL, hexz-commit --base URL --thin (a local
# thin snapshot whose parent is the URL), and hexz-mount URL (and --rw).
source "$srcdir/functions.sh"
source "$srcdir/remote-functions.sh"
requires nginx nbdsh nbdcopy mkfs.ext4 cmp
export tmp

make_tree "$tmp/tree"
make_ext4 "$tmp/base.img" 16M "$tmp/tree"
mkdir -p "$tmp/www/img"
hexz-pack -b 16K "$tmp/base.img" "$tmp/www/img/base.st" > /dev/null
start_nginx "$tmp/www"
url=$nginx_url/img/base.st
local_st=$tmp/www/img/base.st

# hexz-info: the same facts as for the local file (but the name).
hexz-info --json "$url" > "$tmp/info-url.json" || fail "hexz-info URL failed"
hexz-info --json "$local_st" | sed "s|$local_st|$url|g" > "$tmp/info-local.json"
cmp "$tmp/info-local.json" "$tmp/info-url.json" || fail "hexz-info URL differs: $(diff "$tmp/info-local.json" "$tmp/info-url.json")"
# --verify fetches runs of adjacent blocks in one range request each, not a
# request per block.
: > "$nginx_log"
hexz-info --verify "$url" > "$tmp/verify" || fail "hexz-info --verify URL failed"
grep -q "Verify: OK" "$tmp/verify" || fail "no verification: $(cat "$tmp/verify")"
data_blocks=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["streams"]["disk"]["data_blocks"])' "$tmp/info-url.json")
gets=$(log_gets "$nginx_log")
[ "$data_blocks" -gt 20 ] && [ "$gets" -lt $((data_blocks / 5)) ] ||
  fail "hexz-info --verify URL made $gets requests for $data_blocks data blocks"
# ... and still names a damaged block.
cp "$local_st" "$tmp/www/img/bad.st"
off=$(hexz-info --map --json "$local_st" | /usr/bin/python3 -c '
import json, sys
print([e for e in json.load(sys.stdin)["streams"]["disk"]["extents"] if e["kind"] == "data"][5]["offset"])')
printf 'XXXX' | dd of="$tmp/www/img/bad.st" bs=1 seek=$((off + 2)) conv=notrunc status=none
if hexz-info --verify "$nginx_url/img/bad.st" > "$tmp/verify" 2> "$tmp/verify.err"; then
  fail "hexz-info --verify URL passed a damaged block"
fi
grep -q "bad.st: disk stream, block [0-9]*: .*\(corrupt\|checksum\)" "$tmp/verify.err" ||
  fail "--verify URL does not name the damaged block: $(cat "$tmp/verify.err")"

# hexz-diff -b URL FILE: the same block diff as from the local file.
cp "$tmp/base.img" "$tmp/new.img"
head -c 70000 /dev/urandom | dd of="$tmp/new.img" bs=1 seek=300000 conv=notrunc status=none
hexz-diff -b "$url" "$tmp/new.img" "$tmp/d-url.overlay" > /dev/null || fail "hexz-diff -b URL failed"
hexz-diff -b "$local_st" "$tmp/new.img" "$tmp/d-local.overlay" > /dev/null || fail "hexz-diff -b local failed"
cmp "$tmp/d-url.overlay" "$tmp/d-local.overlay" || fail "hexz-diff -b URL: overlay differs"
cmp "$tmp/d-url.overlay.meta" "$tmp/d-local.overlay.meta" || fail "hexz-diff -b URL: .meta differs"
grep -qx "path=$url" "$tmp/d-url.overlay.base" || fail "hexz-diff -b: .base does not store the URL: $(cat "$tmp/d-url.overlay.base")"
# ... and -O st: a local thin snapshot on the URL, serving MODIFIED.
hexz-diff -b "$url" "$tmp/new.img" "$tmp/d.st" -O st > /dev/null || fail "hexz-diff -b URL -O st failed"
$NBDKIT -U - "$HEXZ_PLUGIN" file="$tmp/d.st" --run 'nbdcopy "$uri" "$tmp/out.img"' || fail "serving d.st failed"
cmp "$tmp/new.img" "$tmp/out.img" || fail "hexz-diff -b URL -O st: data differs"

# An overlay on the URL: writes stay local, the .base record names the URL.
cat > "$tmp/write.py" <<'PY'
import os
data = open(os.environ["tmp"] + "/new.img", "rb").read()
h.pwrite(data[300000:370000], 300000)
h.flush()
PY
$NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" url="$url" overlay="$tmp/vm.overlay" \
  --run 'nbdsh -u "$uri" -c "exec(open(\"$tmp/write.py\").read())"' || fail "writing through the overlay failed"
grep -qx "path=$url" "$tmp/vm.overlay.base" || fail ".base does not store the URL: $(cat "$tmp/vm.overlay.base")"

# hexz-diff --files finds the URL base by itself, and with --base URL.
hexz-diff --json "$tmp/vm.overlay" --files > "$tmp/files-rec.json" || fail "hexz-diff --files (from .base) failed"
hexz-diff --json "$tmp/vm.overlay" --files --base "$url" > "$tmp/files-url.json" || fail "hexz-diff --files --base URL failed"
hexz-diff --json "$tmp/vm.overlay" --files --base "$local_st" | sed "s|$local_st|$url|g" > "$tmp/files-local.json"
cmp "$tmp/files-local.json" "$tmp/files-url.json" || fail "--files --base URL differs: $(diff "$tmp/files-local.json" "$tmp/files-url.json")"
cmp "$tmp/files-rec.json" "$tmp/files-url.json" || fail "--files from the .base record differs"

# hexz-commit --base URL --thin: a local snapshot whose parent is the URL.
hexz-commit --base "$url" --overlay "$tmp/vm.overlay" --output "$tmp/vm.st" --thin > /dev/null ||
  fail "hexz-commit --base URL --thin failed"
hexz-info "$tmp/vm.st" | grep -q "$url" || fail "the thin snapshot does not name its URL parent: $(hexz-info "$tmp/vm.st")"
$NBDKIT -U - "$HEXZ_PLUGIN" file="$tmp/vm.st" --run 'nbdcopy "$uri" "$tmp/out.img"' || fail "serving the thin snapshot failed"
cmp "$tmp/new.img" "$tmp/out.img" || fail "thin snapshot on a URL parent: data differs"

# hexz-mount URL (when FUSE is there).
if [ -c /dev/fuse ] && command -v fusermount3 > /dev/null; then
  mkdir "$tmp/m"
  cleanup_fn "mountpoint -q '$tmp/m' && hexz-unmount '$tmp/m'"
  hexz-mount --daemon "$url" "$tmp/m" || fail "hexz-mount URL failed"
  cmp "$tmp/m/disk" "$tmp/base.img" || fail "hexz-mount URL: disk differs"
  hexz-unmount "$tmp/m"

  # --rw over a URL: the overlay is local (its .base stores the URL), a
  # remount shows the writes, the served object never changes.
  st_sum=$(md5sum < "$local_st")
  cp "$tmp/base.img" "$tmp/rw.img"
  hexz-mount --daemon --rw --overlay "$tmp/rw.overlay" "$url" "$tmp/m" || fail "hexz-mount --rw URL failed"
  for w in "5001 hello" "16380 across-a-boundary" "0 Z"; do
    set -- $w
    for f in "$tmp/m/disk" "$tmp/rw.img"; do
      printf '%s' "$2" | dd of="$f" bs=1 seek="$1" conv=notrunc status=none || fail "writing to $f failed"
    done
  done
  cmp "$tmp/m/disk" "$tmp/rw.img" || fail "hexz-mount --rw URL: the disk does not read back the writes"
  hexz-unmount "$tmp/m"
  grep -qx "path=$url" "$tmp/rw.overlay.base" || fail "hexz-mount --rw URL: .base does not store the URL: $(cat "$tmp/rw.overlay.base")"
  hexz-mount --daemon --rw --overlay "$tmp/rw.overlay" "$url" "$tmp/m" || fail "remounting --rw URL failed"
  cmp "$tmp/m/disk" "$tmp/rw.img" || fail "hexz-mount --rw URL: the remount lost the writes"
  hexz-unmount "$tmp/m"
  # Without --overlay (ephemeral): writable, and nothing is left behind.
  hexz-mount --daemon --rw "$url" "$tmp/m" || fail "hexz-mount --rw URL (ephemeral) failed"
  printf 'ephemeral' | dd of="$tmp/m/disk" bs=1 seek=70000 conv=notrunc status=none || fail "ephemeral write failed"
  [ "$(dd if="$tmp/m/disk" bs=1 skip=70000 count=9 status=none)" = ephemeral ] || fail "ephemeral write not read back"
  hexz-unmount "$tmp/m"
  [ "$(md5sum < "$local_st")" = "$st_sum" ] || fail "hexz-mount --rw URL changed the served snapshot"
fi
