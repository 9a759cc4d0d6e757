#!/usr/bin/env bash
# Guest file names cannot forge output lines or reach the terminal raw:
# names holding a newline followed by a fake virt-diff line, terminal escape
# sequences (window title, line erase), a C1 control, a backslash and
# invalid UTF-8 are printed escaped (\xHH) by hexz-diff --files in both
# modes, in text and CSV, while valid UTF-8 stays as it is; unescaping the
# printed paths gives back the exact names, and the JSON stays valid UTF-8.
source "$srcdir/functions.sh"
requires hexz-diff hexz-pack mkfs.ext4 /usr/bin/python3
cd "$tmp"

mkdir -p a/etc
echo base > a/etc/motd
cp -a a b
# The names, as bytes (python: the shell cannot hold every one of them).
/usr/bin/python3 - <<'PY'
import os
names = [
    b"a\n- - 0640        1234 ",          # a directory: its file becomes a forged line on main
    b"\x1b]0;pwned\x07\x1b[2K",           # set the window title, erase the line
    b"bad-\xff\xfe-utf8",                 # invalid UTF-8
    b"caf\xc3\xa9",                       # valid UTF-8: printed as is
    b"c1-\xc2\x9b31m",                    # U+009B, the 8-bit CSI
    b"back\\slash",                       # the escape character itself
    b"tab\there",
]
os.makedirs(b"b/" + names[0] + b"/etc")
open(b"b/" + names[0] + b"/etc/shadow", "wb").write(b"x" * 1234)
for n in names[1:]:
    open(b"b/" + n, "wb").write(b"hello\n")
with open("names.bin", "wb") as f:
    f.write(b"\0".join([b"/" + names[0], b"/" + names[0] + b"/etc", b"/" + names[0] + b"/etc/shadow"] +
                       [b"/" + n for n in names[1:]]))
PY
make_ext4 A.img 16M a
make_ext4 B.img 16M b

# check OUTPUT [--csv] [--overlay]: no control byte but the newlines, every
# line a virt-diff line or a comment, and the printed paths, unescaped by
# the documented rule, are exactly the names.
check() {
  /usr/bin/python3 - "$@" <<'PY' || fail "$1: guest names are not escaped"
import csv, re, sys
out, opts = sys.argv[1], sys.argv[2:]
data = open(out, "rb").read()
bad = [c for c in data if (c < 0x20 and c != 0x0a) or c == 0x7f]
assert not bad, "control bytes in the output: %r" % bad[:5]
assert b"\xc2\x9b" not in data, "a C1 control in the output"
text = data.decode("utf-8")  # invalid UTF-8 must not reach the output either
def unescape(s):
    return re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]), s.encode("utf-8"))
paths = set()
if "--csv" in opts:
    for row in csv.reader(text.splitlines()):
        assert row[0] in "+-=#", row
        if row[0] != "#":
            paths.add(unescape(row[4]))
else:
    line_re = re.compile(r"^([-+=]) [-dlcbpsu] [0-7]{4} +[0-9]+ (/.*?)( \([0-9]+ modified blocks?\))?$")
    for l in text.splitlines():
        if "--overlay" in opts and not re.match(r"^[-+=] ", l):
            continue  # the overlay report's other lines (headers, areas, summary, block list)
        if l.startswith("#"):
            continue
        m = line_re.match(l)
        assert m, "not a virt-diff line: %r" % l
        paths.add(unescape(m.group(2)))
want = set(open("names.bin", "rb").read().split(b"\0"))
missing = want - paths
assert not missing, "names not listed (or not unescapable): %r" % missing
forged = [l for l in text.splitlines() if l.startswith("- - 0640")]
assert not forged, "forged lines: %r" % forged
PY
}

hexz-diff --files -b A.img B.img > out.txt || fail "--files -b failed"
cat -v out.txt
grep -qF '/a\x0a- - 0640        1234 /etc/shadow' out.txt || fail "the newline is not printed as \\x0a"
grep -qF '/\x1b]0;pwned\x07\x1b[2K' out.txt || fail "the escape sequence is not printed as \\x1b"
grep -qF '/bad-\xff\xfe-utf8' out.txt || fail "invalid UTF-8 is not printed as \\xHH"
grep -qF "/caf$(printf '\xc3\xa9')" out.txt || fail "valid UTF-8 was escaped"
grep -qF '/back\x5cslash' out.txt || fail "a backslash is not escaped"
check out.txt

hexz-diff --files --csv -b A.img B.img > out.csv || fail "--files --csv failed"
check out.csv --csv

# The overlay mode prints the same names the same way.
hexz-pack A.img A.st > /dev/null
hexz-diff -b A.st B.img vm.overlay > /dev/null || fail "building the overlay failed"
hexz-diff vm.overlay --files > ov.txt || fail "overlay --files failed"
cat -v ov.txt
check ov.txt --overlay

# JSON carries the names as valid UTF-8 (invalid bytes as U+FFFD).
hexz-diff --files --json -b A.img B.img > out.json
hexz-diff vm.overlay --files --json > ov.json
/usr/bin/python3 - <<'PY' || fail "the JSON output is not valid UTF-8 JSON with the names"
import json
for f in ("out.json", "ov.json"):
    text = open(f, "rb").read().decode("utf-8")
    s = json.dumps(json.loads(text))
    assert "bad-\\ufffd\\ufffd-utf8" in s, f
    assert "a\\n- - 0640        1234 /etc/shadow" in s, f
PY

echo OK
