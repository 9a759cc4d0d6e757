#!/usr/bin/env bash
# nbdkit hexz: --help, --dump-plugin, the export list, and refusal of a
# missing file parameter or an absent memory stream.
source "$srcdir/functions.sh"
requires nbdinfo

$NBDKIT "$HEXZ_PLUGIN" --help > "$tmp/help"
grep -q "file=SNAPSHOT.st" "$tmp/help" || fail "--help does not document file="
grep -q "cache-size=SIZE" "$tmp/help" || fail "--help does not document cache-size="

$NBDKIT --dump-plugin "$HEXZ_PLUGIN" > "$tmp/dump"
grep -qx "name=hexz" "$tmp/dump" || fail "--dump-plugin: no name=hexz"
grep -qx "magic_config_key=file" "$tmp/dump" || fail "--dump-plugin: no magic_config_key"
grep -qx "thread_model=parallel" "$tmp/dump" || fail "--dump-plugin: thread model is not parallel"
grep -q "^version=[0-9]" "$tmp/dump" || fail "--dump-plugin: no version"

# Without file= nbdkit refuses to start and says why.
if $NBDKIT -U - "$HEXZ_PLUGIN" --run true 2> "$tmp/err"; then fail "started without file="; fi
grep -q "file parameter is required" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
if $NBDKIT -U - "$HEXZ_PLUGIN" file=/dev/null bogus=1 --run true 2> "$tmp/err"; then fail "accepted bogus=1"; fi
grep -q "unknown parameter 'bogus'" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
if $NBDKIT -U - "$HEXZ_PLUGIN" file=/dev/null cache-size=lots --run true 2> "$tmp/err"; then
  fail "accepted cache-size=lots"
fi
grep -q "cache-size" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"

# A snapshot with a memory stream lists both exports; the file= key may be
# left out (magic_config_key).
head -c 3000000 /dev/urandom > "$tmp/disk.img"
head -c 1000000 /dev/urandom > "$tmp/mem.img"
hexz-pack "$tmp/disk.img" "$tmp/plain.st"
hexz-pack --memory "$tmp/mem.img" "$tmp/disk.img" "$tmp/both.st"
$NBDKIT -U - "$HEXZ_PLUGIN" "$tmp/both.st" --run 'nbdinfo --list --json "$uri"' > "$tmp/list"
/usr/bin/python3 - "$tmp/list" <<'PY' || fail "wrong export list: $(cat "$tmp/list")"
import json, sys
exports = {e["export-name"]: e for e in json.load(open(sys.argv[1]))["exports"]}
assert set(exports) == {"disk", "memory"}, exports
assert exports["disk"]["export-size"] == 3000000
assert exports["memory"]["export-size"] == 1000000
assert "memory stream" in exports["memory"]["description"]
assert exports["disk"]["is_read_only"] and exports["disk"]["can_multi_conn"]
assert exports["disk"]["block_size_preferred"] == 65536
assert exports["disk"]["can_cache"]
PY
# NBD_CMD_CACHE is offered only when there is a cache to load.
$NBDKIT -U - "$HEXZ_PLUGIN" "$tmp/both.st" cache-size=0 --run 'nbdinfo --json "$uri"' > "$tmp/info"
/usr/bin/python3 -c 'import json,sys; assert not json.load(open(sys.argv[1]))["exports"][0]["can_cache"]' "$tmp/info" ||
  fail "can_cache without a cache: $(cat "$tmp/info")"

# Without a memory stream only "disk" is listed and "memory" is refused.
$NBDKIT -U - "$HEXZ_PLUGIN" file="$tmp/plain.st" --run 'nbdinfo --list --json "$uri"' > "$tmp/list"
/usr/bin/python3 -c 'import json,sys; e=[x["export-name"] for x in json.load(open(sys.argv[1]))["exports"]]; assert e == ["disk"], e' \
  "$tmp/list" || fail "wrong export list: $(cat "$tmp/list")"
if $NBDKIT -U - "$HEXZ_PLUGIN" file="$tmp/plain.st" \
     --run 'nbdinfo --size "nbd+unix:///memory?socket=$unixsocket"' > /dev/null 2> "$tmp/err"; then
  fail "the memory export of a snapshot without memory stream was served"
fi
grep -q 'no export named "memory"' "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
# The default export and "disk" are the same stream.
$NBDKIT -U - "$HEXZ_PLUGIN" file="$tmp/both.st" \
  --run 'nbdinfo --size "$uri"; nbdinfo --size "nbd+unix:///disk?socket=$unixsocket"' > "$tmp/sizes"
[ "$(cat "$tmp/sizes")" = "$(printf '3000000\n3000000')" ] || fail "sizes: $(cat "$tmp/sizes")"
