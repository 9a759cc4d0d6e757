#!/usr/bin/env bash
# hexz-log on a chain of three commits: each layer's message, and the files
# its blocks changed (the test's own edits are the oracle); with PATHs only
# the layers that changed them; --json carries the same.
source "$srcdir/functions.sh"
requires hexz-log hexz-diff hexz-pack hexz-commit mkfs.ext4 nbdkit /usr/bin/python3
cd "$tmp"

# Three trees of generated files, each an edit of the one before.
mkdir -p a/etc a/data
seq 1 20000 > a/data/numbers.txt
echo "127.0.0.1 localhost" > a/etc/hosts
head -c 100000 /dev/urandom > a/data/blob
cp -a a b
echo "10.0.0.2 db" >> b/etc/hosts
echo "new in layer 2" > b/new.txt
cp -a b c
seq 1 30000 > c/data/numbers.txt
rm c/data/blob
make_ext4 A.img 16M a
make_ext4 B.img 16M b
make_ext4 C.img 16M c

hexz-pack -m "first layer" A.img l1.st > /dev/null
hexz-diff -b l1.st B.img l2.ov > /dev/null
hexz-commit --thin --base l1.st --overlay l2.ov --output l2.st -m "second layer" > /dev/null
hexz-diff -b l2.st C.img l3.ov > /dev/null
hexz-commit --thin --base l2.st --overlay l3.ov --output l3.st -m "third layer" > /dev/null

hexz-log l3.st > log.txt || { cat log.txt; fail "hexz-log l3.st failed"; }
cat log.txt
# layer N: the lines of that layer's section.
layer() { awk -v n="$1" '/^layer / { on = ($2 == n) } on' log.txt; }
[ "$(grep -c '^layer ' log.txt)" = 3 ] || fail "expected 3 layers"
[ "$(grep '^layer ' log.txt | awk '{print $2}' | tr '\n' ' ')" = "3 2 1 " ] || fail "layers not listed top first"
layer 3 | grep -q '^Message: third layer$' || fail "layer 3's message"
layer 2 | grep -q '^Message: second layer$' || fail "layer 2's message"
layer 1 | grep -q '^Message: first layer$' || fail "layer 1's message"
layer 1 | grep -q 'the root of the chain' || fail "layer 1 is not called the root"
for want in '= /data/numbers.txt' '- /data/blob'; do
  layer 3 | grep -qx "  $want" || fail "layer 3 does not list '$want'"
done
for want in '= /etc/hosts' '+ /new.txt'; do
  layer 2 | grep -qx "  $want" || fail "layer 2 does not list '$want'"
done
for want in '+ /etc/hosts' '+ /data/blob' '+ /data/numbers.txt'; do
  layer 1 | grep -qx "  $want" || fail "layer 1 does not list '$want'"
done
# Nothing a layer did not change: layer 3 left /etc/hosts alone, layer 2
# the numbers.
! layer 3 | grep -q ' /etc/hosts$' || fail "layer 3 lists /etc/hosts, which it did not change"
! layer 2 | grep -q ' /data/numbers.txt$' || fail "layer 2 lists /data/numbers.txt, which it did not change"

# With a PATH: only the layers that changed it, only its lines.
hexz-log l3.st /etc/hosts > hosts.txt
[ "$(grep '^layer ' hosts.txt | awk '{print $2}' | tr '\n' ' ')" = "2 1 " ] || { cat hosts.txt; fail "/etc/hosts: expected layers 2 and 1"; }
[ "$(grep -c '^  ' hosts.txt)" = 2 ] || { cat hosts.txt; fail "/etc/hosts: expected one change line per layer"; }
hexz-log l3.st /data > data.txt
[ "$(grep '^layer ' data.txt | awk '{print $2}' | tr '\n' ' ')" = "3 1 " ] || { cat data.txt; fail "/data: expected layers 3 and 1"; }
hexz-log l3.st /no/such/file > none.txt
[ ! -s none.txt ] || fail "a path no layer changed lists layers"

# JSON: the same facts.
hexz-log --json l3.st /etc/hosts > log.json
/usr/bin/python3 - log.json <<'PY' || fail "hexz-log --json does not match"
import json, sys
d = json.load(open(sys.argv[1]))
ls = d["layers"]
assert [l["depth"] for l in ls] == [2, 1], ls
assert [l["message"] for l in ls] == ["second layer", "first layer"], ls
assert ls[0]["parent"].endswith("l1.st") and ls[1]["parent"] is None, ls
assert all(l["files_resolved"] for l in ls)
assert [c["change"] + " " + c["path"] for c in ls[0]["changes"]] == ["= /etc/hosts"], ls[0]
assert [c["change"] + " " + c["path"] for c in ls[1]["changes"]] == ["+ /etc/hosts"], ls[1]
assert all(len(l["uuid"]) == 36 and l["data_blocks"] > 0 and l["block_size"] == 65536 for l in ls)
PY
hexz-log --output=json l3.st | /usr/bin/python3 -c 'import json,sys; assert len(json.load(sys.stdin)["layers"]) == 3' ||
  fail "--output=json"

# Errors: not a snapshot, a relative PATH.
echo garbage > bad.st
if hexz-log bad.st 2> err.txt; then fail "hexz-log accepted garbage"; fi
grep -q 'bad.st' err.txt || fail "the error does not name the file"
set +e
hexz-log l3.st etc/hosts 2> err.txt
rc=$?
set -e
[ $rc = 2 ] || fail "a relative PATH should be a usage error (2), got $rc"
echo "hexz-log lists each layer's message and files"
