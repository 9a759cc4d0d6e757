#!/usr/bin/env bash
# An overlay written over a raw image (nbdkit --filter=hexz-cow file
# disk.img overlay=..., as nbdkit-hexz-cow-filter(1) shows) is a first-class
# overlay: hexz-diff --files --base disk.img resolves its blocks to files,
# hexz-commit --base disk.img writes a standalone snapshot of disk + overlay
# (--thin is refused, with the reason), and a .base record naming a
# snapshot is not silently applied to a raw image.  Container formats given
# as the base are refused with the command that serves them.
source "$srcdir/functions.sh"
source "$srcdir/diff-functions.sh"
source "$srcdir/commit-functions.sh"
requires debugfs qemu-img

cd "$tmp"
make_tree tree
make_ext4 disk.img 16M tree
cp disk.img disk.orig
# The reference: the same file rewritten on a copy, through the file plugin.
cp disk.img new.img
bs=$(debugfs -R stats disk.img 2>/dev/null | awk -F: '/^Block size/ { print $2 + 0 }')
blk=$(debugfs -R "bmap /data/numbers.txt 3" disk.img 2>/dev/null)
cat > ops.py <<PY
h.pwrite(b"Z" * 4096, $blk * $bs // 4096 * 4096)
h.flush()
PY
write_raw new.img ops.py
# The overlay: the same write over the raw image.
_nbdsh_ops ops.py --filter="$HEXZ_COW_FILTER" file disk.img overlay=vm.overlay
cmp disk.img disk.orig || fail "the filter wrote into its raw base"

# hexz-diff --files with the raw image as the base.
hexz-diff vm.overlay --files --base disk.img > files.txt || fail "hexz-diff refused a raw base: $(cat files.txt)"
cat files.txt
grep -q '^= - 0644 .*/data/numbers.txt (1 modified block)' files.txt || fail "the rewritten file is not named"
[ "$(grep -c '^[-+=] ' files.txt)" = 1 ] || fail "other files named"
ls vm.* > sides
hexz-diff vm.overlay --files --base disk.img --json > files.json
python3 "$srcdir/json-schema.py" "$srcdir/../tools/diff/hexz-diff.schema.json" files.json ||
  fail "JSON does not match the schema"
ls vm.* | cmp - sides || fail "hexz-diff wrote side files"

# hexz-commit: a standalone snapshot equal to the raw reference.
hexz-commit --base disk.img --overlay vm.overlay -o new.st > /dev/null
serve_to new.st served.img
cmp served.img new.img || fail "the commit of a raw base differs from the reference"
hexz-info --json new.st | python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["parent"] is None' ||
  fail "not standalone"
# -b sets the block size as for hexz-pack.
hexz-commit -b 4K --base disk.img --overlay vm.overlay -o new4k.st > /dev/null
serve_to new4k.st served4k.img
cmp served4k.img new.img || fail "-b 4K commit differs"
# --thin needs a .st parent.
expect_error 1 "raw image; a thin snapshot refers to a .st parent" \
  hexz-commit --thin --base disk.img --overlay vm.overlay -o thin.st
[ ! -e thin.st ] || fail "a refused thin commit wrote its output"

# An overlay with a .base record (written over a snapshot) is not applied to
# a raw image of the same bytes unless --force-base; hexz-diff refuses it.
hexz-pack disk.img base.st > /dev/null
write_overlay base.st st.overlay ops.py
expect_error 1 "was written on top of snapshot .* but disk.img is a raw image" \
  hexz-commit --base disk.img --overlay st.overlay -o x.st
expect_error 1 "but disk.img is a raw image" hexz-diff st.overlay --files --base disk.img
hexz-commit --force-base --base disk.img --overlay st.overlay -o forced.st > /dev/null
serve_to forced.st forced.img
cmp forced.img new.img || fail "the forced commit differs"

# A qcow2 base is refused with the qemu-nbd command.
qemu-img convert -q -f raw -O qcow2 disk.img disk.qcow2
expect_error 1 "qcow2 image, not a raw disk.*qemu-nbd" hexz-commit --base disk.qcow2 --overlay vm.overlay -o q.st
expect_error 1 "qcow2 image, not a raw disk.*qemu-nbd" hexz-diff vm.overlay --files --base disk.qcow2
exit 0
