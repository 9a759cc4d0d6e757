#!/usr/bin/env bash
# hexz-info describes an overlay (base, disk size, blocks modified, lock
# holder) in text and JSON, and with --backing-chain every element from the
# overlay down to the chain's root, as qemu-img info --backing-chain does;
# every JSON document validates against hexz-info.schema.json.
source "$srcdir/functions.sh"
requires nbdsh
checker=$srcdir/json-schema.py
schema=$srcdir/../tools/info/hexz-info.schema.json

cd "$tmp"
head -c $((3 * 1024 * 1024)) /dev/urandom > disk.img
hexz-pack disk.img base.st > /dev/null
# A thin child of base.st: a chain of two snapshots.
$NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=base.st overlay=c.overlay \
  --run 'nbdsh -u "$uri" -c "h.pwrite(b\"c\" * 4096, 65536); h.flush()"'
hexz-commit --base base.st --overlay c.overlay -o child.st --thin > /dev/null
# The overlay described: three blocks written on child.st.
$NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=child.st overlay=vm.overlay \
  --run 'nbdsh -u "$uri" -c "h.pwrite(b\"v\" * 12288, 1 << 20); h.flush()"'
meta=$(hexz-info --json vm.overlay | python3 -c 'import json, sys; print(json.load(sys.stdin)["meta"])')
[ "$(meta_blocks "$meta" | wc -l)" = 3 ] || fail "the test's overlay does not hold 3 blocks"
uuid() { hexz-info --json "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["uuid"])'; }
child_uuid=$(uuid child.st)
base_uuid=$(uuid base.st)

# valid FILE: FILE validates against the schema.
valid() { python3 "$checker" "$schema" "$1" || fail "$1 does not match the schema: $(cat "$1")"; }
# field FILE EXPR: a Python expression on the document d in FILE.
field() { python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print($2)" "$1"; }

# Text: every fact, from the side files.
hexz-info vm.overlay > info.txt || fail "hexz-info refused an overlay: $(cat info.txt)"
cat info.txt
grep -qx 'Type: hexz-cow overlay' info.txt || fail "not described as an overlay"
grep -qx "Virtual size: 3145728 (3.0 MB)" info.txt || fail "wrong size"
grep -qx "Base: $tmp/child.st (UUID $child_uuid)" info.txt || fail "wrong base"
grep -q "^Modified blocks: 3 (12.0 KB, 4096 bytes each)" info.txt || fail "wrong block count"
grep -qx 'Lock: not in use' info.txt || fail "a lock holder where there is none"

# JSON, the same facts.
hexz-info --json vm.overlay > info.json
valid info.json
[ "$(field info.json 'd["kind"], d["size"], d["modified_blocks"], d["modified_bytes"], d["lock"]')" = \
  "overlay 3145728 3 12288 None" ] || fail "wrong JSON: $(cat info.json)"
[ "$(field info.json 'd["base"]["uuid"], d["base"]["path"], d["base"]["present"]')" = \
  "$child_uuid $tmp/child.st True" ] || fail "wrong JSON base: $(cat info.json)"
hexz-info --output=json vm.overlay | cmp - info.json || fail "--output=json differs from --json"

# The chain: overlay, child, base, in that order, in both forms.
hexz-info --backing-chain vm.overlay > chain.txt
[ "$(grep -c '^File: ' chain.txt)" = 3 ] || fail "not three elements: $(cat chain.txt)"
[ "$(grep '^File: ' chain.txt | cut -d' ' -f2 | xargs -n1 basename | xargs)" = "vm.overlay child.st base.st" ] ||
  fail "wrong order: $(grep '^File: ' chain.txt)"
[ "$(grep -c '^$' chain.txt)" -ge 2 ] || fail "elements not separated by blank lines"
hexz-info --backing-chain --json vm.overlay > chain.json
valid chain.json
[ "$(field chain.json '" ".join(e["kind"] + ":" + e.get("uuid", "-") for e in d)')" = \
  "overlay:- snapshot:$child_uuid snapshot:$base_uuid" ] || fail "wrong JSON chain: $(cat chain.json)"
# From a snapshot, its own chain; without --backing-chain, one element.
[ "$(hexz-info --backing-chain child.st | grep -c '^File: ')" = 2 ] || fail "child.st's chain is not two"
[ "$(hexz-info child.st | grep -c '^File: ')" = 1 ] || fail "one element without --backing-chain"
hexz-info --backing-chain --json base.st > one.json
valid one.json
[ "$(field one.json 'len(d)')" = 1 ] || fail "base.st's chain is not one element"

# The lock holder, while an nbdkit serves the overlay.
start_nbdkit "$tmp/sock" --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=child.st overlay=vm.overlay
hexz-info vm.overlay > busy.txt
grep -q "^Lock: in use by pid $nbdkit_pid (.*nbdkit.*), writing\$" busy.txt || fail "no holder: $(cat busy.txt)"
hexz-info --json vm.overlay > busy.json
valid busy.json
[ "$(field busy.json 'd["lock"]["mode"], d["lock"]["pid"]')" = "write $nbdkit_pid" ] ||
  fail "wrong JSON lock: $(cat busy.json)"
kill "$nbdkit_pid"
wait_until 10 eval '! running $nbdkit_pid' || fail "nbdkit did not exit"
nbdkit_pid=

# A base that moved away: described as missing; the chain is an error
# naming it, and prints no partial JSON.
mv child.st moved.st
hexz-info vm.overlay > moved.txt
grep -q "^Base: $tmp/child.st (UUID $child_uuid), missing\$" moved.txt || fail "missing base not said: $(cat moved.txt)"
expect_error 1 "child.st" hexz-info --backing-chain --json vm.overlay
[ ! -s "$tmp/out" ] || fail "partial JSON printed: $(cat "$tmp/out")"
# A base of another UUID where the record points: the chain says so.
cp base.st child.st
expect_error 1 "was written on top of snapshot $child_uuid, but .*child.st is snapshot $base_uuid" \
  hexz-info --backing-chain vm.overlay
mv moved.st child.st

# An overlay without any record (over a raw image): base not recorded.
$NBDKIT -U - --filter="$HEXZ_COW_FILTER" file disk.img overlay=raw.overlay \
  --run 'nbdsh -u "$uri" -c "h.pwrite(b\"r\" * 4096, 0); h.flush()"'
hexz-info raw.overlay > raw.txt
grep -q '^Base: not recorded' raw.txt || fail "raw overlay: $(cat raw.txt)"
grep -q '^Modified blocks: 1 ' raw.txt || fail "raw overlay blocks: $(cat raw.txt)"
hexz-info --json raw.overlay > raw.json
valid raw.json
[ "$(field raw.json 'd["base"], d["size"]')" = "None None" ] || fail "raw overlay JSON: $(cat raw.json)"

# Not a snapshot and not an overlay: still refused as before.
head -c 100000 /dev/urandom > junk.bin
expect_error 1 "bad magic" hexz-info junk.bin

# The checker itself rejects a document that breaks the schema.
sed 's/"modified_blocks":3/"modified_blocks":"3"/' info.json > bad.json
if python3 "$checker" "$schema" bad.json > /dev/null 2>&1; then fail "the checker accepted a bad document"; fi
exit 0
