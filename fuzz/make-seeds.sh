#!/usr/bin/env bash
# make-seeds.sh DIR: small seed inputs for each harness, made once (tools
# from scripts/install-deps.sh; a seed whose tool is missing is skipped).
#   DIR/fuzz-partition  MBR with a logical chain, GPT
#   DIR/fuzz-ext        ext2, ext4 with files
#   DIR/fuzz-tsk        FAT, ISO 9660 (NTFS when mkntfs is there)
#   DIR/fuzz-snapshot   a .st, a .meta (first byte: the reader, see the harness)
#   DIR/fuzz-wire       (none: libFuzzer starts from empty inputs)
set -euo pipefail
PATH=/usr/bin:/usr/sbin:/bin:/sbin:$PATH
dir=$1
[ -e "$dir/.done" ] && exit 0
mkdir -p "$dir"/{fuzz-partition,fuzz-ext,fuzz-tsk,fuzz-snapshot,fuzz-wire}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/tree" "$work/tree/d"
echo hello > "$work/tree/a.txt"
seq 1 2000 > "$work/tree/d/numbers.txt"
ln -s a.txt "$work/tree/link"
have() { command -v "$1" > /dev/null; }

if have sfdisk; then
  truncate -s 1M "$work/mbr"
  printf 'label: dos\nstart=64, size=256, type=83\nstart=512, size=1024, type=5\nstart=576, size=128, type=83\nstart=768, size=128, type=83\n' |
    sfdisk -q "$work/mbr"
  cp "$work/mbr" "$dir/fuzz-partition/mbr"
  truncate -s 1M "$work/gpt"
  printf 'label: gpt\nstart=64, size=256, type=linux\nstart=512, size=256, type=swap\n' | sfdisk -q "$work/gpt"
  cp "$work/gpt" "$dir/fuzz-partition/gpt"
fi
if have mkfs.ext4; then
  truncate -s 256K "$dir/fuzz-ext/ext2" && mkfs.ext2 -q -F -b 1024 -N 32 -d "$work/tree" "$dir/fuzz-ext/ext2"
  truncate -s 1M "$dir/fuzz-ext/ext4" && mkfs.ext4 -q -F -b 1024 -N 32 -d "$work/tree" "$dir/fuzz-ext/ext4"
fi
if have mkfs.vfat; then
  truncate -s 256K "$dir/fuzz-tsk/vfat" && mkfs.vfat -C -n SEED "$dir/fuzz-tsk/vfat.tmp" 256 > /dev/null 2>&1 &&
    mv "$dir/fuzz-tsk/vfat.tmp" "$dir/fuzz-tsk/vfat"
  if have mcopy; then mcopy -i "$dir/fuzz-tsk/vfat" "$work/tree/a.txt" ::/A.TXT 2> /dev/null || true; fi
fi
if have genisoimage; then genisoimage -quiet -o "$dir/fuzz-tsk/iso" "$work/tree"; fi
if have hexz-pack; then
  head -c 65536 /dev/urandom > "$work/raw"
  seq 1 5000 >> "$work/raw"
  truncate -s 256K "$work/raw"
  hexz-pack "$work/raw" "$work/st" > /dev/null 2>&1 && { printf '\0'; cat "$work/st"; } > "$dir/fuzz-snapshot/st"
fi
printf '\1\0\0\0\0\0\0\0\0\7\0\0\0\0\0\0\0' > "$dir/fuzz-snapshot/meta"
touch "$dir/.done"
