#!/usr/bin/env bash
# hexz-diff --files -b BASE MODIFIED: the file list equals what diff -r and
# stat on the two source trees predict (added, removed, changed in place,
# chmod, symlink retargeted, hard link), for raw, .st and overlay-served
# inputs, in text, --csv, --checksum and --json form.
source "$srcdir/functions.sh"
requires hexz-diff hexz-pack nbdkit mkfs.ext4 debugfs md5sum /usr/bin/python3
cd "$tmp"
export TZ=UTC

make_tree a
echo keep > a/data/same.txt
echo old > a/data/stat-only.txt
mkdir a/gone-dir
echo bye > a/gone-dir/file
cp -a a b
seq 1 60000 > b/data/numbers.txt                   # changed in place (grown)
printf 'x' | dd of=b/bin/true bs=1 seek=100 conv=notrunc status=none  # same size, other bytes
touch -d @1000000000 b/bin/true
rm b/bin/env                                        # removed
rm -r b/gone-dir                                    # removed directory
head -c 20000 /dev/urandom > b/data/new.bin         # added
mkdir b/new-dir && echo hi > b/new-dir/hello        # added directory
chmod 600 b/etc/services                            # chmod
ln -sfn ../etc/protocols b/data/link                # symlink retargeted
ln b/data/same.txt b/data/hardlink                  # hard link
touch -d @1200000000 b/data/stat-only.txt           # mtime only
make_ext4 A.img 32M a
make_ext4 B.img 32M b

# expected [--csv|--checksum]: virt-diff's lines as diff -r and lstat on
# the trees predict them.  Directory sizes depend on the filesystem, so
# they are printed as D (and normalised the same way in the output).
expected() {
  /usr/bin/python3 - "$@" <<'EOF'
import filecmp, hashlib, os, stat, sys
csv = '--csv' in sys.argv
csum = '--checksum' in sys.argv
def walk(root):
    out = {'/': os.lstat(root)}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            out['/' + os.path.relpath(p, root)] = os.lstat(p)
    return out
A, B = walk('a'), walk('b')
def kind(st):
    m = st.st_mode
    return '-' if stat.S_ISREG(m) else 'd' if stat.S_ISDIR(m) else 'l' if stat.S_ISLNK(m) else '?'
def line(ch, root, path, st):
    k = kind(st)
    size = 'D' if k == 'd' else str(st.st_size)
    f = [ch, k, '%04o' % (st.st_mode & 0o7777), size if csv else size.rjust(10)]
    full = root + path
    if csum and k == '-':
        f.append(hashlib.md5(open(full, 'rb').read()).hexdigest())
    f.append(path)
    if k == 'l':
        f.append(os.readlink(full) if csv else '-> ' + os.readlink(full))
    return (',' if csv else ' ').join(f)
out = []
for p in sorted(set(A) | set(B)):
    if p == '/lost+found':
        continue
    if p not in B:
        out.append(line('-', 'a', p, A[p])); continue
    if p not in A:
        out.append(line('+', 'b', p, B[p])); continue
    a, b = A[p], B[p]
    dirs = kind(a) == 'd' and kind(b) == 'd'
    fields = []
    if kind(a) != kind(b) or (a.st_mode & 0o7777) != (b.st_mode & 0o7777): fields.append('st_mode')
    if a.st_nlink != b.st_nlink and not dirs: fields.append('st_nlink')
    if a.st_uid != b.st_uid: fields.append('st_uid')
    if a.st_gid != b.st_gid: fields.append('st_gid')
    if a.st_size != b.st_size and not dirs: fields.append('st_size')
    if int(a.st_mtime) != int(b.st_mtime) and not dirs: fields.append('st_mtime_sec')
    if kind(a) == 'l' and kind(b) == 'l' and os.readlink('a' + p) != os.readlink('b' + p): fields.append('link')
    if kind(a) == '-' and kind(b) == '-' and not filecmp.cmp('a' + p, 'b' + p, shallow=False):
        out.append(line('=', 'a', p, a))
    elif fields:
        out.append(line('-', 'a', p, a))
        out.append(line('+', 'b', p, b))
        out.append(('#,changed:,' if csv else '# changed: ') + (',' if csv else ' ').join(fields))
print('\n'.join(out))
EOF
}
# normalise [--csv]: directory sizes replaced by D.
normalise() {
  if [ "${1:-}" = --csv ]; then
    sed -E 's/^([-+=]),d,([0-7]{4}),[0-9]+,/\1,d,\2,D,/'
  else
    sed -E 's/^([-+=]) d ([0-7]{4}) +[0-9]+ /\1 d \2          D /'
  fi
}
check() {  # NAME EXPECTED-FILE GOT-FILE
  if ! cmp -s "$2" "$3"; then
    diff -u "$2" "$3" || true
    fail "$1: hexz-diff --files differs from the prediction of diff -r and stat"
  fi
}

expected > exp.txt
grep -q . exp.txt || fail "the prediction is empty: the trees do not differ"
cat exp.txt
hexz-diff --files -b A.img B.img > out.txt || fail "--files failed"
normalise < out.txt > got.txt
check "raw pair" exp.txt got.txt
# Sanity of the prediction itself: each kind of change is present.
for pat in '^= - .* /data/numbers.txt$' '^= - .* /bin/true$' '^- - .* /bin/env$' '^+ - .* /data/new.bin$' \
  '^+ d .* /new-dir$' '^- d .* /gone-dir$' '^# changed: st_mode$' '^+ l .* /data/link -> ../etc/protocols$' \
  '^+ - .* /data/hardlink$' '^# changed: st_nlink$' '^# changed: st_mtime_sec$'; do
  grep -q -- "$pat" got.txt || fail "no line matching '$pat'"
done

# .st inputs give the same list.
hexz-pack A.img A.st
hexz-pack B.img B.st
hexz-diff --files -b A.st B.st > out2.txt || fail "--files on snapshots failed"
cmp out.txt out2.txt || fail ".st inputs give another list than raw inputs"

# --csv and --checksum.
expected --csv --checksum > exp.csv
hexz-diff --files --csv --checksum -b A.img B.img | normalise --csv > got.csv
check "--csv --checksum" exp.csv got.csv

# --json carries the same changes.
hexz-diff --files --json -b A.img B.img > out.json
/usr/bin/python3 - <<'EOF' || fail "--json does not match the text output"
import json
d = json.load(open('out.json'))
changes = [c for f in d['filesystems'] for c in f['changes']]
text = [l for l in open('out.txt').read().splitlines() if not l.startswith('#')]
paths_text = sorted(set(l.split()[4] for l in text))
paths_json = sorted(set(c['path'] for c in changes))
assert paths_text == paths_json, (paths_text, paths_json)
assert {c['path']: c['change'] for c in changes}['/data/numbers.txt'] == '='
EOF

# --uids --times columns.
hexz-diff --files --uids --times -b A.img B.img > out3.txt
grep -qE '^\+ - 0644 +20000 +0 +0 [0-9-]{10} [0-9:]{8} [0-9-]{10} [0-9:]{8} /data/new.bin$' out3.txt ||
  fail "--uids --times columns are not as virt-diff prints them"

# A pair made by changing the image through the overlay: debugfs edits a
# copy, hexz-diff -b turns it into an overlay, and --files on BASE against
# BASE + overlay (served by hexz-cow) finds exactly the edits.
cp A.img M.img
debugfs -w M.img -R "rm /data/random.bin" > /dev/null 2>&1
debugfs -w M.img -R "sif /etc/protocols mode 0100600" > /dev/null 2>&1
debugfs -w M.img -R "symlink /data/new-link /etc/services" > /dev/null 2>&1
debugfs -w M.img -R "sif /etc/protocols mtime 20200101000000" > /dev/null 2>&1
hexz-diff -b A.st M.img m.overlay > /dev/null || fail "building the overlay failed"
$NBDKIT -U - -r --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file=A.st overlay=m.overlay \
  --run 'hexz-diff --files -b A.st "$uri"' > out4.txt || fail "--files against an overlay-served disk failed"
cat out4.txt
cat > exp4.txt <<EOF
+ l 0777         13 /data/new-link -> /etc/services
- - 0644     300000 /data/random.bin
- - 0644 $(printf %10d "$(stat -c %s a/etc/protocols)") /etc/protocols
+ - 0600 $(printf %10d "$(stat -c %s a/etc/protocols)") /etc/protocols
# changed: st_mode st_mtime_sec
EOF
check "overlay-made pair" exp4.txt out4.txt

# A filesystem hexz cannot read is named, not skipped.
head -c 8M /dev/zero > Z1.img
cp Z1.img Z2.img
rc=0; hexz-diff --files -b Z1.img Z2.img > out5.txt 2> err5.txt || rc=$?
[ $rc = 3 ] || fail "--files on disks without a filesystem: exit $rc, not 3 (incomplete)"
grep -q "whole disk.*files not compared.*no filesystem recognised" err5.txt || fail "an unrecognised disk is not named"

# An empty BASE (it reads as zero throughout) has no filesystem: every file
# of MODIFIED is added, and the answer is complete.
truncate -s 32M E.img
hexz-diff --files -b E.img B.img > out5b.txt || fail "--files from an empty disk failed (exit $?)"
for p in /data/new.bin /etc/services /new-dir/hello; do
  grep -q "^+ - .* $p\$" out5b.txt || fail "from an empty disk, $p is not added"
done
! grep -v '^+ ' out5b.txt || fail "from an empty disk, lines other than additions"

# Disks of different sizes: files are compared all the same.
truncate -s 40M B40.img
dd if=B.img of=B40.img conv=notrunc status=none
hexz-diff --files -b A.img B40.img > out6.txt || fail "--files on disks of different sizes failed"
cmp out.txt out6.txt || fail "a larger MODIFIED disk changes the file list"

# A GPT disk: ext4 in partition 1 (same trees), swap in partition 2, which
# is named as not comparable.
if command -v sfdisk > /dev/null && command -v mkswap > /dev/null; then
  for side in a b; do
    img=G$side.img
    truncate -s 48M $img
    printf 'label: gpt\nstart=2048, size=61440, type=linux\nstart=63488, size=16384, type=swap\n' | sfdisk -q $img
    mkfs.ext4 -q -F -E offset=1048576,lazy_itable_init=0,lazy_journal_init=0 -d $side $img 30M
    truncate -s 8M swap.img
    mkswap -q swap.img
    dd if=swap.img of=$img bs=512 seek=63488 conv=notrunc status=none
  done
  hexz-diff --files -b Ga.img Gb.img > out8.txt 2> err8.txt || fail "--files on a GPT disk failed"
  cat out8.txt err8.txt
  { echo "# partition 1 (ext4)"; cat out.txt; echo "# partition 2 (swap): files not compared: file listing is not supported for swap yet"; } > exp8.txt
  check "GPT disk" exp8.txt out8.txt
  grep -q "partition 2 (swap): files not compared" err8.txt || fail "the swap partition is not named on stderr"
fi

# FAT through The Sleuth Kit: contents compared by the clusters files own.
if command -v mkfs.vfat > /dev/null && command -v mcopy > /dev/null; then
  truncate -s 16M F1.img
  mkfs.vfat F1.img > /dev/null
  seq 1 20000 > n1.txt
  seq 1 30000 > n2.txt
  echo hello > h.txt
  mmd -i F1.img ::/dir
  mcopy -i F1.img h.txt ::/dir/h.txt
  mcopy -i F1.img n1.txt ::/n.txt
  mcopy -i F1.img n1.txt ::/same.txt
  cp F1.img F2.img
  mcopy -o -i F2.img n2.txt ::/n.txt
  mdel -i F2.img ::/dir/h.txt
  mcopy -i F2.img h.txt ::/new.txt
  hexz-diff --files -b F1.img F2.img > out7.txt || fail "--files on FAT failed"
  cat out7.txt
  sed -E 's/^([-+=] -) [0-7]{4} +[0-9]+ /\1 /' out7.txt > got7.txt
  printf '%s\n' '- - /dir/h.txt' '= - /n.txt' '+ - /new.txt' > exp7.txt
  check "FAT pair" exp7.txt got7.txt
fi

echo OK
