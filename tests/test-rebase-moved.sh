#!/usr/bin/env bash
# Moving things (issue 14, item 6): an overlay's .base record stores its base
# relative to the record's directory, as a thin snapshot stores its parent,
# so an overlay moved together with its base keeps working: hexz-diff
# --files finds the base from the record, the hexz-cow filter serves the
# same bytes, hexz-commit applies it.  A record written with an absolute
# path (before this rule) is still read, and the filter rewrites it in the
# relative form; a URL stays a URL (test-remote-tools.sh).
source "$srcdir/functions.sh"
requires hexz-diff hexz-pack hexz-commit mkfs.ext4 nbdcopy cmp
requires_built "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"
cd "$tmp"

make_tree t
make_ext4 before.img 16M t
echo "changed after the move" > t/data/new.txt
make_ext4 after.img 16M t
mkdir -p old/dir
hexz-pack before.img old/dir/base.st > /dev/null
hexz-diff -b old/dir/base.st after.img old/dir/vm.overlay > /dev/null
grep -qx "path=base.st" old/dir/vm.overlay.base || fail ".base does not store base.st relative: $(cat old/dir/vm.overlay.base)"

# The pair moves (renamed directory, another depth): nothing names old/ now.
mkdir -p new/place
mv old/dir new/place/moved
rmdir old
cd new
hexz-diff place/moved/vm.overlay --files > files.txt || fail "hexz-diff --files after the move: $(cat files.txt)"
grep -q "/data/new.txt" files.txt || fail "hexz-diff --files after the move does not name /data/new.txt: $(cat files.txt)"
$NBDKIT -U - -r --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=place/moved/base.st overlay=place/moved/vm.overlay \
  --run 'nbdcopy "$uri" served.img' || fail "the filter refused the moved pair"
cmp served.img ../after.img || fail "the moved pair does not serve the modified disk"
hexz-commit --base place/moved/base.st --overlay place/moved/vm.overlay -o committed.st > /dev/null ||
  fail "hexz-commit on the moved pair failed"
grep -qx "path=base.st" place/moved/vm.overlay.base || fail "the record changed: $(cat place/moved/vm.overlay.base)"

# An absolute record (the old rule) is read as it is, and the filter, which
# keeps the record up to date, rewrites it relative.
sed -i "s|^path=.*|path=$tmp/new/place/moved/base.st|" place/moved/vm.overlay.base
hexz-diff place/moved/vm.overlay --files > files2.txt || fail "an absolute .base record is not read"
cmp files.txt files2.txt || fail "an absolute .base record gives another answer"
$NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=place/moved/base.st overlay=place/moved/vm.overlay \
  --run true || fail "the filter refused an absolute record"
grep -qx "path=base.st" place/moved/vm.overlay.base || fail "the filter left the record absolute: $(cat place/moved/vm.overlay.base)"

# A base elsewhere: the record climbs out of the overlay's directory.
mkdir -p ../ov
mv place/moved/vm.overlay place/moved/vm.overlay.meta ../ov/
rm place/moved/vm.overlay.base
$NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=place/moved/base.st overlay=../ov/vm.overlay \
  --run true || fail "the filter refused the overlay in another directory"
grep -qx "path=../new/place/moved/base.st" ../ov/vm.overlay.base || fail "record from another directory: $(cat ../ov/vm.overlay.base)"
hexz-diff ../ov/vm.overlay --files > files3.txt || fail "hexz-diff --files with the base in another directory"
grep -q "/data/new.txt" files3.txt || fail "base in another directory: $(cat files3.txt)"
