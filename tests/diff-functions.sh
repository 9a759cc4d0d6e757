# Helpers for the hexz-diff tests (source after functions.sh).

# write_meta FILE INDEX...: a .meta file of the given u64 LE block indices.
write_meta() {
  local f=$1
  shift
  perl -e 'print pack("Q<*", @ARGV)' "$@" > "$f"
}

# human_size BYTES: 1024-based, one decimal, B/KB/MB/GB/TB (awk), the
# reference for hexz-diff's sizes.
human_size() {
  awk -v b="$1" 'BEGIN { split("B KB MB GB TB", u, " "); i = 1;
    while (b >= 1024 && i < 5) { b /= 1024; i++ } printf "%.1f %s\n", b, u[i] }'
}

# apply_through_filter BASE.st OVERLAY OLD.raw NEW.raw: writes every 4 KiB
# block where NEW differs from OLD through nbdkit hexz + the hexz-cow
# filter, so OVERLAY (+ .meta, .base) records exactly those blocks.
apply_through_filter() {
  local script="$tmp/apply.py"
  cat > "$script" <<'PY'
import os
old, new = os.environ["OLD_RAW"], os.environ["NEW_RAW"]
with open(old, "rb") as a, open(new, "rb") as b:
    i = 0
    while True:
        x = a.read(4096)
        y = b.read(4096)
        if not y:
            break
        if x != y:
            h.pwrite(y, i * 4096)
        i += 1
h.flush()
PY
  OLD_RAW=$3 NEW_RAW=$4 $NBDKIT -U - --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file="$1" overlay="$2" \
    --run "nbdsh -u \"\$uri\" -c 'exec(open(\"$script\").read())'"
}

# changed_blocks OLD NEW: indices of the 4 KiB blocks that differ (cmp).
changed_blocks() { changed_units "$1" "$2" 4096; }

# changed_units OLD NEW UNIT: indices of the UNIT-byte pieces that differ.
changed_units() {
  { cmp -l "$1" "$2" || true; } | awk -v u="$3" '{ print int(($1 - 1) / u) }' | uniq
}

# expect_exit CODE CMD...: runs CMD, failing the test unless it exits CODE
# (hexz-diff exits 3 when a partition table or filesystem could not be read).
expect_exit() {
  local want=$1 rc=0
  shift
  "$@" || rc=$?
  [ "$rc" = "$want" ] || fail "$* exited $rc, not $want"
}
