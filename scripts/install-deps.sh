#!/usr/bin/env bash
# Installs everything hexz needs to build, test and benchmark on Debian 12.
# Run as root.  Safe to run again.
set -euo pipefail

PACKAGES=(
  # build
  build-essential autoconf automake libtool pkg-config perl
  nbdkit nbdkit-plugin-dev libnbd-dev libzstd-dev liblz4-dev libxxhash-dev
  libfuse3-dev fuse3 libcriterion-dev libext2fs-dev comerr-dev libtsk-dev libssl-dev
  # tests and the sample
  libnbd-bin python3-libnbd qemu-utils e2fsprogs fuse2fs sleuthkit
  mtools dosfstools ntfs-3g genisoimage fdisk nbd-client zstd lz4
  # benchmarks
  fio hyperfine bc
)

if [ "$(id -u)" != 0 ]; then
  echo "$0: run as root (it installs Debian packages with apt-get)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
