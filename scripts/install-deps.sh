#!/usr/bin/env bash
# Installs everything hexz needs to build, test and benchmark on Debian 12.
# Run as root.  Safe to run again.
set -euo pipefail

PACKAGES=(
  # build
  build-essential autoconf automake libtool pkg-config perl
  nbdkit nbdkit-plugin-dev libnbd-dev libzstd-dev liblz4-dev libxxhash-dev
  libfuse3-dev fuse3 libcriterion-dev libext2fs-dev comerr-dev libtsk-dev libssl-dev
  libcurl4-openssl-dev
  nlohmann-json3-dev
  libseccomp-dev
  # where bash completions are installed (its pkg-config file)
  bash-completion
  # the libFuzzer harnesses (make fuzz): clang with its libFuzzer and
  # sanitizer runtimes (only recommended by clang-14, so named here)
  clang libclang-rt-14-dev
  # tests and the sample (python3, cmp and mountpoint are run directly)
  python3 diffutils util-linux
  libnbd-bin python3-libnbd qemu-utils e2fsprogs fuse2fs sleuthkit
  mtools dosfstools ntfs-3g genisoimage fdisk nbd-client zstd lz4
  # the remote tests: an HTTP(S) server, certificates, curl's own SigV4 to
  # upload to the S3 test server (Node.js, below)
  nginx-light openssl curl
  # benchmarks (valgrind: instruction counts that the machine's noise does
  # not move, bench-index.sh)
  fio hyperfine bc qemu-block-extra valgrind
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

# The S3 API server of the remote tests: an npm package, installed outside the
# tree (tests find it in $HEXZ_NPM_DIR, default /opt/hexz-npm).  This fork of
# s3rver checks SigV4 signatures (s3rver 3.x accepts any secret).  Node.js and
# npm come from Debian unless the machine already has them.  The package
# declares Node >= 20; npm warns (EBADENGINE) on Debian 12's Node 18, on
# which it runs and checks signatures all the same (test-remote-s3.sh proves
# both on a fresh root).
if ! command -v npm >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends nodejs npm
fi
HEXZ_NPM_DIR=${HEXZ_NPM_DIR:-/opt/hexz-npm}
S3_SERVER=@20minutes/s3rver@4.0.4
if [ ! -f "$HEXZ_NPM_DIR/node_modules/@20minutes/s3rver/package.json" ]; then
  mkdir -p "$HEXZ_NPM_DIR"
  (cd "$HEXZ_NPM_DIR" && npm install --no-audit --no-fund --silent --engine-strict=false "$S3_SERVER")
fi
