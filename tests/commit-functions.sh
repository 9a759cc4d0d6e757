# Helpers for the hexz-commit tests (test-commit-*.sh), sourced after
# functions.sh.  Overlays are made the way a VM makes them: by writing
# through nbdkit with the hexz-cow filter.  The expected contents come from
# applying the same writes to a raw copy of the disk with nbdkit's file
# plugin, which shares no code with hexz.

requires nbdkit nbdsh nbdcopy cmp hexz-pack hexz-commit hexz-info

# The end-to-end tests need the plugin and the filter built.
requires_built "$HEXZ_PLUGIN" "$HEXZ_COW_FILTER"

# apply_ops URI_SOURCE OPS.py: run the nbdsh script OPS.py against an nbdkit
# started with the remaining words of URI_SOURCE (plugin and parameters).
_nbdsh_ops() {
  local ops=$1
  shift
  $NBDKIT -U - "$@" --run "nbdsh -u \"\$uri\" -c 'exec(open(\"$ops\").read())'"
}

# write_overlay BASE.st OVERLAY OPS.py: apply OPS.py through the hexz-cow
# filter, recording the writes in OVERLAY (+ .meta, .base).
write_overlay() {
  _nbdsh_ops "$3" --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file="$1" overlay="$2"
}

# write_raw IMAGE OPS.py: apply OPS.py to a raw image (the reference).
write_raw() {
  _nbdsh_ops "$2" file "$1"
}

# serve_to SNAPSHOT.st OUT [EXPORT]: copy what the hexz plugin serves.
serve_to() {
  rm -f "$2"
  $NBDKIT -U - -r "$HEXZ_PLUGIN" file="$1" \
    --run "nbdcopy \"nbd+unix:///${3:-}?socket=\$unixsocket\" '$2'"
}

# view_to BASE.st OVERLAY OUT: copy the base-plus-overlay view (read-only).
view_to() {
  rm -f "$3"
  $NBDKIT -U - -r --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file="$1" overlay="$2" \
    --run "nbdcopy \"\$uri\" '$3'"
}

# make_disk IMAGE SIZE: a raw disk of SIZE bytes with random, text, zero and
# repeated regions (so every block kind and dedup occur).
make_disk() {
  rm -f "$1"
  truncate -s "$2" "$1"
  local mib=$(($2 / 1048576))
  head -c 700000 /dev/urandom | dd of="$1" conv=notrunc status=none
  seq 1 200000 | dd of="$1" bs=1M seek=1 conv=notrunc status=none
  if [ "$mib" -ge 4 ]; then
    head -c 300000 /dev/urandom | dd of="$1" bs=1M seek=$((mib - 1)) conv=notrunc status=none
  fi
  # The very last bytes of the disk, in its partial last block.
  printf 'the end' | dd of="$1" bs=1 seek=$(($2 - 7)) conv=notrunc status=none
}

# same FILE1 FILE2 WHAT: cmp, failing with WHAT.
same() {
  cmp "$1" "$2" || fail "$3: $1 and $2 differ"
}

# info_field SNAPSHOT.st PATTERN: hexz-info's lines matching PATTERN.
info_field() {
  hexz-info "$1" | grep -E "$2" || true
}
