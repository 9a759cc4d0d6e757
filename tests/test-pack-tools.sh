#!/usr/bin/env bash
# hexz-pack and hexz-info on a real ext4 image: every method and block size,
# a memory stream, a message, the JSON output, --verify, --map, --help/--version
# and usage errors.
source "$srcdir/functions.sh"
requires mkfs.ext4 /usr/bin/python3

make_tree "$tmp/tree"
make_ext4 "$tmp/disk.img" 40M "$tmp/tree"
head -c 3000000 /dev/urandom > "$tmp/mem.raw"
printf 'tail' >> "$tmp/mem.raw"   # not a block multiple

json() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
disk_size=$(stat -c %s "$tmp/disk.img")
mem_size=$(stat -c %s "$tmp/mem.raw")

for method in zstd lz4 none; do
  for bs in 4K 64K 1M; do
    hexz-pack -f -c $method -b $bs --memory "$tmp/mem.raw" -m "packed with $method/$bs" \
      "$tmp/disk.img" "$tmp/s.st"
    hexz-info --verify "$tmp/s.st" > "$tmp/info.txt"
    grep -q "^Verify: OK" "$tmp/info.txt" || fail "verify did not pass for $method $bs"
    grep -q "^Message: packed with $method/$bs\$" "$tmp/info.txt" || fail "message missing"
    hexz-info --json "$tmp/s.st" > "$tmp/info.json"
    [ "$(json "$tmp/info.json" 'd["streams"]["disk"]["size"]')" = "$disk_size" ] || fail "disk size"
    [ "$(json "$tmp/info.json" 'd["streams"]["memory"]["size"]')" = "$mem_size" ] || fail "memory size"
    bsz=$(json "$tmp/info.json" 'd["block_size"]')
    blocks=$(json "$tmp/info.json" 'd["streams"]["disk"]["blocks"]')
    [ "$blocks" = $(( (disk_size + bsz - 1) / bsz )) ] || fail "block count"
    # Blocks by kind add up; no parent blocks in a packed image.
    [ "$(json "$tmp/info.json" 'd["streams"]["disk"]["data_blocks"] + d["streams"]["disk"]["zero_blocks"]')" = "$blocks" ] ||
      fail "kinds do not add up"
    [ "$(json "$tmp/info.json" 'd["streams"]["disk"]["parent_blocks"]')" = 0 ] || fail "parent blocks"
    if [ $method = none ]; then
      [ "$(json "$tmp/info.json" 'd["streams"]["disk"]["zstd_blocks"] + d["streams"]["disk"]["lz4_blocks"]')" = 0 ] ||
        fail "compressed blocks with -c none"
    else
      [ "$(json "$tmp/info.json" "d['streams']['disk']['${method}_blocks']")" -gt 0 ] || fail "no $method blocks"
      # Random memory data does not compress: it is stored raw.
      [ "$(json "$tmp/info.json" 'd["streams"]["memory"]["raw_blocks"]')" -gt 0 ] || fail "random data not stored raw"
    fi
  done
done

# A real filesystem compresses: the snapshot is smaller than the data in it.
hexz-pack "$tmp/disk.img" "$tmp/z.st"
used=$(du -B1 "$tmp/disk.img" | cut -f1)
st=$(stat -c %s "$tmp/z.st")
[ "$st" -lt "$used" ] || fail "snapshot ($st) not smaller than the allocated image ($used)"

# Identical input gives the same data blocks (only the UUID and time differ).
hexz-pack -j 1 "$tmp/disk.img" "$tmp/z1.st"
hexz-info --json "$tmp/z.st" > "$tmp/z.json"
hexz-info --json "$tmp/z1.st" > "$tmp/z1.json"
[ "$(json "$tmp/z.json" 'd["streams"]["disk"]["stored_bytes"]')" = \
  "$(json "$tmp/z1.json" 'd["streams"]["disk"]["stored_bytes"]')" ] || fail "not deterministic"

# qemu-img's spelling --output=json gives the same document; --output=human the text.
hexz-info --output=json "$tmp/z.st" | cmp - "$tmp/z.json" || fail "--output=json differs from --json"
hexz-info --output=human "$tmp/z.st" | grep -q "^UUID: " || fail "--output=human is not the text form"

# --map: the extents cover each stream end to end, its data extents are the
# data blocks and their stored bytes (and its stored pages the index bytes)
# add up to what --json counts; the table form has a line per data block.
for f in z.st s.st; do
  hexz-info --map --json "$tmp/$f" > "$tmp/map.json"
  hexz-info --json "$tmp/$f" > "$tmp/info.json"
  /usr/bin/python3 - "$tmp/map.json" "$tmp/info.json" <<'PY' || fail "--map of $f does not match --json"
import json, sys
m, i = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert m["block_size"] == i["block_size"] and m["file_size"] == i["file_size"]
assert set(m["streams"]) == set(i["streams"])
for name, st in m["streams"].items():
    info, pos, seen = i["streams"][name], 0, {}
    for e in st["extents"]:
        assert e["start"] == pos and e["length"] > 0, e
        pos += e["length"]
        if e["kind"] == "data":
            assert e["length"] <= m["block_size"] and 4096 <= e["offset"] < m["data_end"]
            seen[e["offset"]] = e["stored_length"]
    assert pos == info["size"], (pos, info["size"])
    assert sum(e["kind"] == "data" for e in st["extents"]) == info["data_blocks"]
    assert sum(seen.values()) == info["stored_bytes"]
    assert len(st["pages"]) == info["index_pages"]
    assert sum(p.get("stored_length", 0) for p in st["pages"]) == info["index_bytes"]
PY
done
[ "$(hexz-info --map "$tmp/z.st" | grep -c ' data ')" = "$(json "$tmp/z.json" 'd["streams"]["disk"]["data_blocks"]')" ] ||
  fail "--map table: not one line per data block"

# --help, --version, usage errors (exit 2).
for t in hexz-pack hexz-info; do
  $t --help | grep -q "^Usage: $t" || fail "$t --help"
  $t --version | grep -Eq "^$t [0-9]+\.[0-9]+" || fail "$t --version"
  set +e; $t --no-such-option >/dev/null 2>&1; rc=$?; set -e
  [ $rc = 2 ] || fail "$t: unknown option gave exit $rc"
done
expect_usage() {
  set +e; "$@" > "$tmp/err" 2>&1; rc=$?; set -e
  [ $rc = 2 ] || fail "'$*' gave exit $rc, expected 2"
}
expect_usage hexz-info --output=yaml "$tmp/z.st"
expect_usage hexz-info --map --verify "$tmp/z.st"
expect_usage hexz-pack -b 3000 "$tmp/disk.img" "$tmp/x.st"
expect_usage hexz-pack -b 2M "$tmp/disk.img" "$tmp/x.st"
expect_usage hexz-pack -c gzip "$tmp/disk.img" "$tmp/x.st"
grep -q "unknown compression method 'gzip'" "$tmp/err" || fail "bad method message"
expect_usage hexz-pack -l 99 "$tmp/disk.img" "$tmp/x.st"
expect_usage hexz-pack "$tmp/disk.img"
expect_usage hexz-info
[ ! -e "$tmp/x.st" ] || fail "output created on a usage error"
