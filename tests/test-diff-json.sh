#!/usr/bin/env bash
# Every --json document of hexz-diff, in both modes, validates against the
# one schema (tools/diff/hexz-diff.schema.json) with the checker in
# json-schema.py, which is shown to reject a document that breaks it.  And
# what the issue found wrong: the overlay mode's file changes carry the
# before and after status (the text shows the before size) and "content"
# in "changed", as the image mode's do; --output=json is --json; -b ...
# --json is honoured by every block form; --csv without --files is refused.
source "$srcdir/functions.sh"
requires hexz-diff hexz-pack mkfs.ext4 debugfs /usr/bin/python3
requires_built "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"
cd "$tmp"
schema=$srcdir/../tools/diff/hexz-diff.schema.json
checker=$srcdir/json-schema.py
[ -r "$schema" ] || fail "no schema at $schema"

make_tree a
make_ext4 A.img 32M a
# B: A changed in place (so that the overlay mode sees the same changes).
cp A.img B.img
seq 1 70000 > numbers.txt
echo new > new.txt
debugfs -w B.img -f - > /dev/null 2>&1 <<'DF'
rm /data/numbers.txt
write numbers.txt /data/numbers.txt
set_inode_field /etc/services mode 0100600
write new.txt /data/new.txt
rm /bin/env
DF
truncate -s 40M C.img
hexz-pack A.img A.st > /dev/null
hexz-pack B.img B.st > /dev/null

valid() {  # FILE [DEF]: FILE validates (against $defs/DEF)
  /usr/bin/python3 "$checker" "$schema" "$@" || fail "$1 does not follow the schema: $(head -c 600 "$1")"
}
json() {  # NAME CODE ARGS...: hexz-diff ARGS > NAME.json, exit CODE, one line, valid
  local name=$1 code=$2 rc=0
  shift 2
  hexz-diff "$@" > "$name.json" || rc=$?
  [ "$rc" = "$code" ] || fail "hexz-diff $* exited $rc, expected $code"
  [ "$(wc -l < "$name.json")" = 1 ] || fail "hexz-diff $* printed more than one line"
  valid "$name.json"
}

# The checker can fail: a missing required key, an unknown key and a wrong
# type are each rejected.
hexz-diff -b A.img B.img ov.overlay > /dev/null
json summary 0 ov.overlay --json
for mutation in 'del d["meta"]' 'd["bogus"] = 1' 'd["modified_blocks"] = "7"' 'd["kind"] = "file-diff"'; do
  /usr/bin/python3 -c "import json; d = json.load(open('summary.json')); $mutation; print(json.dumps(d))" > bad.json
  if /usr/bin/python3 "$checker" "$schema" bad.json 2> /dev/null; then fail "the checker accepts a document with $mutation"; fi
done

# Overlay mode: the summary forms, --files with and without a base.
json blocks 0 ov.overlay --blocks --json
json summary-output 0 ov.overlay --output=json
cmp summary.json summary-output.json || fail "--output=json is not --json"
json files-nobase 0 ov.overlay --files --json
json files 0 ov.overlay --files --json --base A.st
hexz-diff ov.overlay --files --base A.st > files.txt
# Image mode: --files, and every block form.
json image-files 0 --files --json -b A.img B.img
json image-files-st 0 --files --output=json -b A.st B.st
json report-same 0 -b A.img A.st --json
json report-diff 1 -b A.img B.img --json
json report-size 1 -b A.img C.img --json
json write-overlay 0 -b A.st B.img w.overlay --json
json write-st 0 -b A.st B.st -O st w.st --json

/usr/bin/python3 - <<'PY' || fail "the JSON answers are wrong"
import json, re
def load(n): return json.load(open(n + ".json"))
assert load("summary")["kind"] == "overlay-summary"
f = load("files")
assert f["kind"] == "file-diff" and f["files_resolved"] is True
changes = {c["path"]: c for fs in f["filesystems"] for c in fs["changes"]}
# The text's size is the before size of a changed file; the JSON has both.
text = {}
for l in open("files.txt").read().splitlines():
    m = re.match(r"^([-+=]) (.) [0-7]{4} +([0-9]+) (/\S*)", l)
    if m and m.group(1) == "=":
        text[m.group(4)] = int(m.group(3))
n = changes["/data/numbers.txt"]
assert n["change"] == "=" and n["changed"][0] == "content", n
assert n["before"]["size"] == text["/data/numbers.txt"] != n["after"]["size"], (n, text)
s = changes["/etc/services"]
assert s["change"] == "~" and s["changed"] == ["st_mode"] and s["before"]["mode"] == "0644" and s["after"]["mode"] == "0600", s
assert "before" not in changes["/data/new.txt"] and "after" not in changes["/bin/env"]
# The image mode says the same about the same files, in the same schema.
i = {c["path"]: c for fs in load("image-files")["filesystems"] for c in fs["changes"]}
for p in ("/data/numbers.txt", "/etc/services", "/data/new.txt", "/bin/env"):
    assert i[p]["change"] == changes[p]["change"], (p, i[p], changes[p])
assert i["/data/numbers.txt"]["changed"][0] == "content"
assert load("image-files-st")["filesystems"][0]["changes"] == load("image-files")["filesystems"][0]["changes"]
nb = load("files-nobase")
assert nb["files_resolved"] is False and nb["filesystems"] == [] and nb["blocks"]
r = load("report-same")
assert r["identical"] is True and r["changed_blocks"] == 0 and r["output"] is None
r = load("report-diff")
assert r["identical"] is False and r["changed_blocks"] > 0 and r["changed_bytes"] == 4096 * r["changed_blocks"]
r = load("report-size")
assert r["size_mismatch"] is True and "changed_blocks" not in r
w = load("write-overlay")
assert w["output"]["format"] == "overlay" and w["output"]["path"] == "w.overlay" and w["output"]["base_record"] == "w.overlay.base"
assert w["changed_blocks"] == load("report-diff")["changed_blocks"]
assert load("write-st")["output"]["format"] == "st"
PY

# --csv is for --files only; a bad --output is a usage error.
expect_error 2 "--csv is for --files" hexz-diff -b A.img B.img --csv
expect_error 2 "--output must be 'json' or 'human'" hexz-diff ov.overlay --output=xml
expect_error 2 "--output must be 'json' or 'human'" hexz-diff -b A.img B.img --output=yaml
# An unknown option: one error line (and the hint), in both modes.
for args in "--bogus ov.overlay" "-b A.img B.img --bogus" "-x ov.overlay" "ov.overlay --meta"; do
  expect_error 2 "" hexz-diff $args
  [ "$(grep -c '^hexz-diff: ' "$tmp/err")" = 1 ] || fail "hexz-diff $args: not one error line: $(cat "$tmp/err")"
  grep -q "^Try 'hexz-diff --help'" "$tmp/err" || fail "hexz-diff $args: no hint"
done
grep -qx "hexz-diff: option '--meta' needs an argument" "$tmp/err" || fail "missing argument: $(cat "$tmp/err")"

echo OK
