#!/usr/bin/env bash
# A thin snapshot whose parent is missing is still described by hexz-info
# (text and JSON, exit 0; --verify fails), as qemu-img info does; hexz-rebase
# re-points it (and an overlay's .base record) at the moved parent, checking
# the UUID: another snapshot is refused, the file unchanged, unless --force.
source "$srcdir/functions.sh"
requires hexz-info hexz-rebase hexz-diff hexz-pack nbdcopy cmp
requires_built "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"
cd "$tmp"

head -c $((3 * 1024 * 1024)) /dev/urandom > base.img
cp base.img mod.img
printf 'changed' | dd of=mod.img bs=4096 seek=100 conv=notrunc status=none
hexz-pack base.img base.st > /dev/null
hexz-pack base.img other.st > /dev/null  # the same bytes, another UUID
hexz-diff -b base.st mod.img -O st thin.st > /dev/null
hexz-diff -b base.st mod.img vm.overlay > /dev/null
uuid=$(hexz-info --json base.st | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["uuid"])')

# json FILE EXPR: EXPR (Python, over the document d) of FILE's JSON.
json() { /usr/bin/python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print($2)" "$1"; }

hexz-info thin.st > info.txt || fail "hexz-info on a complete chain"
grep -q "^Parent status: present ($tmp/base.st)" info.txt || fail "parent status: $(cat info.txt)"

# The parent moves away.
mkdir moved
mv base.st moved/
hexz-info thin.st > info.txt || fail "hexz-info on a thin snapshot without its parent exited $?"
grep -qx "Parent: base.st (UUID $uuid)" info.txt || fail "the missing parent is not named: $(cat info.txt)"
grep -q "^Parent status: MISSING (.*base.st" info.txt || fail "the missing parent is not said: $(cat info.txt)"
grep -q "^Stream disk:" info.txt || fail "the snapshot is not described without its parent: $(cat info.txt)"
hexz-info --json thin.st > info.json || fail "hexz-info --json without the parent"
[ "$(json info.json 'd["parent"]["present"], d["parent"]["opened_from"], d["parent"]["path"], d["parent"]["uuid"]')" = \
  "False None base.st $uuid" ] || fail "JSON parent: $(cat info.json)"
[ "$(json info.json '"No such file" in d["parent"]["error"]')" = True ] || fail "JSON parent error: $(cat info.json)"
/usr/bin/python3 "$srcdir/json-schema.py" "$srcdir/../tools/info/hexz-info.schema.json" info.json ||
  fail "hexz-info --json without the parent does not match the schema"
expect_error 1 "cannot verify the blocks of the parent" hexz-info --verify thin.st
expect_error 1 "cannot open parent snapshot" hexz-diff -b moved/base.st thin.st x.ov

# Refused: another snapshot, the child itself, a standalone snapshot, a
# usage error.  The file stays as it was.
cp thin.st thin.keep
expect_error 1 "has UUID $uuid, but other.st is snapshot .*(--force overrides)" hexz-rebase thin.st other.st
expect_error 1 "cannot be its own parent" hexz-rebase thin.st thin.st
expect_error 1 "standalone snapshot has no parent" hexz-rebase other.st moved/base.st
expect_error 2 "expected" hexz-rebase thin.st
expect_error 1 "an overlay must not be named" hexz-rebase vm.overlay.meta other.st
cmp thin.st thin.keep || fail "a refused rebase changed thin.st"

# Re-pointed: the chain opens and serves the modified disk.
chmod 0640 thin.st
hexz-rebase --json thin.st moved/base.st > rebase.json || fail "hexz-rebase thin.st moved/base.st"
[ "$(json rebase.json 'd["kind"], d["old"]["stored"], d["new"]["stored"], d["new"]["uuid"], d["uuid_changed"]')" = \
  "snapshot base.st moved/base.st $uuid False" ] || fail "rebase JSON: $(cat rebase.json)"
[ "$(stat -c %a thin.st)" = 640 ] || fail "the rewrite lost the file's mode: $(stat -c %a thin.st)"
[ -z "$(ls -A | grep '^\.thin')" ] || fail "a temporary file is left: $(ls -A)"
hexz-info thin.st | grep -q "^Parent status: present ($tmp/moved/base.st)" || fail "not re-pointed: $(hexz-info thin.st)"
$NBDKIT -U - -r "$HEXZ_PLUGIN" file=thin.st --run 'nbdcopy "$uri" out.img' || fail "serving the rebased chain"
cmp out.img mod.img || fail "the rebased chain does not serve the modified disk"
# Only the parent reference changed: the same UUID, the same data area.
/usr/bin/python3 - thin.st thin.keep <<'PY' || fail "the rebase changed more than the parent reference"
import struct, sys
a, b = (open(p, "rb").read() for p in sys.argv[1:])
end = struct.unpack_from("<Q", a, 72)[0]
assert end == struct.unpack_from("<Q", b, 72)[0] and a[4096:end] == b[4096:end] and a[32:48] == b[32:48]
PY

# --force accepts another UUID: the reference takes it.
hexz-rebase -f thin.st other.st > force.txt || fail "hexz-rebase -f"
grep -q "another snapshot (--force)" force.txt || fail "--force is not said: $(cat force.txt)"
hexz-info --json thin.st > info.json
[ "$(json info.json 'd["parent"]["path"], d["parent"]["present"]')" = "other.st True" ] || fail "after --force: $(cat info.json)"

# An overlay's .base record, UUID-checked the same way.
mv moved/base.st .
mv base.st moved/
expect_error 1 "vm.overlay.base: the overlay's base .*has UUID $uuid, but other.st is snapshot" hexz-rebase vm.overlay other.st
grep -qx "path=base.st" vm.overlay.base || fail "a refused overlay rebase changed the record: $(cat vm.overlay.base)"
hexz-rebase vm.overlay moved/base.st > ov.txt || fail "hexz-rebase vm.overlay moved/base.st"
grep -q "^vm.overlay.base: base is now moved/base.st (UUID $uuid)" ov.txt || fail "overlay rebase output: $(cat ov.txt)"
grep -qx "path=moved/base.st" vm.overlay.base || fail "overlay record: $(cat vm.overlay.base)"
grep -qx "uuid=$uuid" vm.overlay.base || fail "overlay record UUID: $(cat vm.overlay.base)"
hexz-diff vm.overlay --files > /dev/null 2>&1 || [ $? = 3 ] || fail "hexz-diff --files after the overlay rebase"
rm vm.overlay.base
expect_error 1 "no base record vm.overlay.base" hexz-rebase vm.overlay moved/base.st
hexz-rebase --force vm.overlay moved/base.st > /dev/null || fail "--force did not write a first record"
grep -qx "uuid=$uuid" vm.overlay.base || fail "--force record: $(cat vm.overlay.base)"
hexz-rebase --help | grep -q "Usage: hexz-rebase" || fail "--help"
hexz-rebase --version | grep -q "^hexz-rebase " || fail "--version"
