#!/usr/bin/env bash
# Builds hexz out of tree in BUILDDIR (default: build/).  Extra arguments go
# to configure, e.g. scripts/build.sh build-asan --enable-sanitizers.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-$top/build}
shift || true
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi
mkdir -p "$builddir"
cd "$builddir"
# Reconfigure only when the options changed.
if [ ! -f config.status ] || [ "$(cat .hexz-configure-args 2>/dev/null)" != "$*" ]; then
  "$top/configure" --enable-werror "$@"
  echo "$*" > .hexz-configure-args
fi
make -j"$(nproc)"
