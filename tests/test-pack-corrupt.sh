#!/usr/bin/env bash
# Damaged snapshots through the tools: each gives a clear error naming the
# file and what is wrong, and a non-zero exit.  An interrupted hexz-pack
# leaves neither the output nor a temporary file.
source "$srcdir/functions.sh"
requires mkfs.ext4 /usr/bin/python3

make_tree "$tmp/tree"
make_ext4 "$tmp/disk.img" 16M "$tmp/tree"
hexz-pack -b 16K "$tmp/disk.img" "$tmp/good.st"
hexz-info --verify "$tmp/good.st" >/dev/null

info_refuses() {  # info_refuses FILE PATTERN [hexz-info options]
  local f=$1 pat=$2
  shift 2
  expect_error 1 "$pat" hexz-info "$@" "$f"
  grep -q -- "$f" "$tmp/err" || fail "error does not name the file: $(cat "$tmp/err")"
}

size=$(stat -c %s "$tmp/good.st")
damaged_snapshots "$tmp/good.st"
info_refuses "$tmp/trunc.st" "truncated"
info_refuses "$tmp/short.st" "truncated"
info_refuses "$tmp/garbage.st" "bad magic"
: > "$tmp/empty.st"
info_refuses "$tmp/empty.st" "truncated"
info_refuses "$tmp/nonexistent.st" "No such file"

cp "$tmp/good.st" "$tmp/hdr.st"; flip "$tmp/hdr.st" 40 0x20
info_refuses "$tmp/hdr.st" "header checksum mismatch"
# The last bytes of the file are the metadata/index sections.
cp "$tmp/good.st" "$tmp/idx.st"; flip "$tmp/idx.st" $((size - 30)) 0x20
info_refuses "$tmp/idx.st" "checksum mismatch in section"
# A byte in the middle of the data area: found by --verify, naming the block.
cp "$tmp/good.st" "$tmp/data.st"; flip "$tmp/data.st" 6000 0x20
hexz-info "$tmp/data.st" > /dev/null || fail "data damage must not stop plain hexz-info"
info_refuses "$tmp/data.st" "disk stream, block [0-9]*: checksum mismatch" --verify
grep -q "^Verify: FAILED, 1 damaged index pages or blocks" "$tmp/out" || fail "verify summary: $(cat "$tmp/out")"
# A byte of the stored index page: the file opens (pages are read when
# needed), but hexz-info, which walks every page, names the page.
read -r poff plen < <(index_page "$tmp/good.st" 0)
cp "$tmp/good.st" "$tmp/page.st"; flip "$tmp/page.st" $((poff + plen / 2)) 0x20
info_refuses "$tmp/page.st" "disk stream, index page 0: checksum mismatch (the index page is damaged)"
info_refuses "$tmp/page.st" "disk stream, index page 0: checksum mismatch" --verify
grep -q "^  Index: 1 pages (stored 1 in .*, DAMAGED 1)" "$tmp/out" || fail "damaged page summary: $(cat "$tmp/out")"

# An interrupted pack leaves nothing behind under the final name or as a
# temporary file.
truncate -s 3G "$tmp/big.img"
head -c 200000000 /dev/urandom > "$tmp/rand"
for off in 0 1 2 3 4 5 6 7 8; do
  dd if="$tmp/rand" of="$tmp/big.img" bs=1M seek=$((off * 300)) conv=notrunc status=none
done
rm "$tmp/rand"
mkdir "$tmp/out-dir"
hexz-pack -c zstd -l 19 -j 1 "$tmp/big.img" "$tmp/out-dir/big.st" &
pid=$!
sleep 1
kill -TERM $pid
set +e; wait $pid; rc=$?; set -e
[ $rc != 0 ] || fail "hexz-pack finished before it could be interrupted"
[ -z "$(ls -A "$tmp/out-dir")" ] || fail "interrupted pack left files: $(ls -A "$tmp/out-dir")"

# Nothing is written when the output directory does not exist.
set +e; hexz-pack "$tmp/disk.img" "$tmp/nodir/x.st" 2> "$tmp/err"; rc=$?; set -e
[ $rc = 1 ] && grep -q "nodir" "$tmp/err" || fail "missing output directory: exit $rc"
