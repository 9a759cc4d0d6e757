#!/usr/bin/env bash
# hexz-diff --files lists files in virt-diff's order, in both modes: depth
# first, a directory's entries right after it ("/a", "/a/c", then "/a.b";
# "/skel", "/skel/...", then "/skel.other"), so that the output can be
# compared with virt-diff's by diff.  The reference order is computed by
# walking the source tree as virt-diff's visitor does (each directory's
# names sorted bytewise, every directory's contents right after it).
source "$srcdir/functions.sh"
requires hexz-diff hexz-pack mkfs.ext4 /usr/bin/python3
cd "$tmp"

mkdir -p a/keep
echo x > a/keep/file
cp -a a b
mkdir -p b/a b/skel/sub b/a-b
echo c > b/a/c
echo b > b/a.b
echo o > b/skel.other
echo s > b/skel/sub/s
echo t > b/skel/t
echo z > b/a-b/z
echo k > b/a0
make_ext4 A.img 16M a
make_ext4 B.img 16M b

# reference ROOT: the added paths in virt-diff's visiting order.
/usr/bin/python3 - <<'PY' > want.txt
import os
def visit(root, rel=b""):
    for n in sorted(os.listdir(os.path.join(root, rel) if rel else root)):
        p = os.path.join(rel, n) if rel else n
        yield b"/" + p
        if os.path.isdir(os.path.join(root, p)) and not os.path.islink(os.path.join(root, p)):
            yield from visit(root, p)
have = set(visit(b"a"))
for p in visit(b"b"):
    if p not in have and p != b"/lost+found":
        print(p.decode())
PY
cat want.txt
grep -qx /a.b want.txt || fail "the reference lists no /a.b"

# paths FILE: the paths of the "+" lines, in order.
paths() { sed -nE 's/^\+ [-d] [0-7]{4} +[0-9]+ (\/[^ ]*)( \(.*\))?$/\1/p' "$1"; }

hexz-diff --files -b A.img B.img > out.txt || fail "--files -b failed"
cat out.txt
paths out.txt > got.txt
cmp want.txt got.txt || { diff -u want.txt got.txt; fail "image mode: not virt-diff's order"; }

hexz-pack A.img A.st > /dev/null
hexz-diff -b A.st B.img vm.overlay > /dev/null || fail "building the overlay failed"
hexz-diff vm.overlay --files > ov.txt || fail "overlay --files failed"
cat ov.txt
paths ov.txt > got-ov.txt
cmp want.txt got-ov.txt || { diff -u want.txt got-ov.txt; fail "overlay mode: not virt-diff's order"; }

# The JSON lists keep the same order.
hexz-diff --files --json -b A.img B.img > out.json
/usr/bin/python3 - <<'PY' || fail "image mode --json: not virt-diff's order"
import json
d = json.load(open("out.json"))
got = [c["path"] for f in d["filesystems"] for c in f["changes"] if c["change"] == "+"]
want = open("want.txt").read().split()
assert got == want, (got, want)
PY

echo OK
