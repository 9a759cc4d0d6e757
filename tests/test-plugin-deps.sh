#!/usr/bin/env bash
# The plugin and the filter link only the snapshot-reading core: no libnbd
# (that is for the tools, which speak NBD) and no filesystem libraries.
source "$srcdir/functions.sh"
requires readelf

for so in "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"; do
  needed=$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  [ -n "$needed" ] || fail "$so: readelf -d shows no NEEDED entries"
  for lib in libnbd libext2fs libtsk libfuse3 libcrypto; do
    if grep -q "^$lib\.so" <<<"$needed"; then
      fail "$so links $lib: $(tr '\n' ' ' <<<"$needed")"
    fi
  done
done
echo "plugin and filter link no libnbd, libext2fs, libtsk, libfuse3 or libcrypto"
