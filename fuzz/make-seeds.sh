#!/usr/bin/env bash
# make-seeds.sh DIR: small seed inputs for each harness, made once with the
# tools of scripts/install-deps.sh and this build's hexz-pack (make fuzz
# runs it through ../run).  A missing tool is an error: a harness without
# seeds would fuzz from nothing and prove little.
#   DIR/fuzz-partition  MBR with a logical chain, GPT
#   DIR/fuzz-ext        ext2, ext4 with files
#   DIR/fuzz-tsk        FAT, ISO 9660, NTFS
#   DIR/fuzz-snapshot   a .st (zstd and lz4), a .meta, a .base (first byte:
#                       the reader, see the harness)
#   DIR/fuzz-wire       (none: libFuzzer starts from empty inputs)
set -euo pipefail
PATH=/usr/bin:/usr/sbin:/bin:/sbin:$PATH
dir=$1
[ -e "$dir/.done" ] && exit 0
for tool in sfdisk mkfs.ext2 mkfs.ext4 mkfs.vfat mcopy mkntfs genisoimage hexz-pack; do
  command -v $tool > /dev/null || { echo "make-seeds.sh: $tool is not installed (scripts/install-deps.sh)" >&2; exit 1; }
done
mkdir -p "$dir"/{fuzz-partition,fuzz-ext,fuzz-tsk,fuzz-snapshot,fuzz-wire}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/tree" "$work/tree/d"
echo hello > "$work/tree/a.txt"
seq 1 2000 > "$work/tree/d/numbers.txt"
ln -s a.txt "$work/tree/link"

truncate -s 1M "$work/mbr"
printf 'label: dos\nstart=64, size=256, type=83\nstart=512, size=1024, type=5\nstart=576, size=128, type=83\nstart=768, size=128, type=83\n' |
  sfdisk -q "$work/mbr"
cp "$work/mbr" "$dir/fuzz-partition/mbr"
truncate -s 1M "$work/gpt"
printf 'label: gpt\nstart=64, size=256, type=linux\nstart=512, size=256, type=swap\n' | sfdisk -q "$work/gpt"
cp "$work/gpt" "$dir/fuzz-partition/gpt"

truncate -s 256K "$work/ext2" && mkfs.ext2 -q -F -b 1024 -N 32 -d "$work/tree" "$work/ext2"
truncate -s 1M "$work/ext4" && mkfs.ext4 -q -F -b 1024 -N 32 -O ^has_journal -d "$work/tree" "$work/ext4"
cp "$work/ext2" "$work/ext4" "$dir/fuzz-ext/"

mkfs.vfat -C -n SEED "$work/vfat" 256 > /dev/null
mcopy -i "$work/vfat" "$work/tree/a.txt" ::/A.TXT
cp "$work/vfat" "$dir/fuzz-tsk/vfat"
genisoimage -quiet -o "$dir/fuzz-tsk/iso" "$work/tree" 2> /dev/null
truncate -s 2M "$work/ntfs" && mkntfs -q -F -f -s 512 -c 512 "$work/ntfs" > /dev/null 2>&1
cp "$work/ntfs" "$dir/fuzz-tsk/ntfs"

head -c 4096 /dev/urandom > "$work/raw"
seq 1 3000 >> "$work/raw"
truncate -s 64K "$work/raw"
for codec in zstd lz4; do
  hexz-pack -j 1 -b 4K --compression=$codec "$work/raw" "$work/$codec.st" > /dev/null
  { printf '\0'; cat "$work/$codec.st"; } > "$dir/fuzz-snapshot/st-$codec"
done
printf '\1\0\0\0\0\0\0\0\0\7\0\0\0\0\0\0\0' > "$dir/fuzz-snapshot/meta"
printf '\2hexz-base 1\nuuid=0f8fad5b-d9cb-469f-a165-70867728950e\npath=/base.st\ndisk-size=65536\n' > "$dir/fuzz-snapshot/base"
touch "$dir/.done"
