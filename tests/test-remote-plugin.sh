#!/usr/bin/env bash
# nbdkit hexz url=: standalone and thin snapshots served byte-exact from a
# real nginx (and S3) on loopback, thin parents resolved against the child's
# URL, adjacent blocks fetched in one range request, index pages fetched
# once each at start-up, clear start-up errors,
# retries across a server restart, EIO when it stays down, a replaced object
# refused, and a cache-dir that makes a second run fetch no block and
# refetches a damaged entry.
source "$srcdir/functions.sh"
source "$srcdir/remote-functions.sh"
requires nginx nbdcopy nbdsh mkfs.ext4 cmp
export tmp

make_tree "$tmp/tree"
make_ext4 "$tmp/base.img" 16M "$tmp/tree"
cp "$tmp/base.img" "$tmp/new.img"
head -c 100000 /dev/urandom | dd of="$tmp/new.img" bs=1 seek=200000 conv=notrunc status=none
seq 1 30000 | dd of="$tmp/new.img" bs=1 seek=$((9 * 1024 * 1024)) conv=notrunc status=none
mkdir -p "$tmp/www/img"
hexz-pack -b 16K "$tmp/base.img" "$tmp/www/img/base.st" > /dev/null
./make-thin "$tmp/www/img/base.st" "$tmp/new.img" "$tmp/www/img/child.st" > /dev/null
start_nginx "$tmp/www"
base_url=$nginx_url/img/base.st
child_url=$nginx_url/img/child.st

# copy OUT ARGS...: nbdcopy the disk served by nbdkit hexz ARGS to OUT.
copy() {
  local out=$1
  shift
  rm -f "$out"
  $NBDKIT -U - "$HEXZ_PLUGIN" "$@" --run 'nbdcopy "$uri" "'"$out"'"' 2> "$tmp/err" ||
    fail "serving $* failed: $(cat "$tmp/err")"
}

# Standalone, and the same through file=URL (nbdkit's magic parameter).
: > "$nginx_log"
copy "$tmp/out.img" url="$base_url" cache-size=0
cmp "$tmp/base.img" "$tmp/out.img" || fail "standalone: data differs"
# Adjacent blocks travel together: far fewer range requests than stored
# blocks, and no more bytes than the file holds.
blocks=$(hexz-info --json "$tmp/www/img/base.st" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["streams"]["disk"]["data_blocks"])' 2>/dev/null || echo 0)
gets=$(log_gets "$nginx_log")
[ "$blocks" -gt 20 ] || fail "test image has too few blocks ($blocks)"
[ $((gets * 4)) -lt "$blocks" ] || fail "$gets range requests for $blocks blocks: not coalesced"
fetched=$(log_bytes "$nginx_log")
[ $((fetched * 10)) -le $(($(stat -c %s "$tmp/www/img/base.st") * 11)) ] || fail "fetched $fetched bytes: > 1.1 x the file"
copy "$tmp/out.img" "$base_url"
cmp "$tmp/base.img" "$tmp/out.img" || fail "file=URL: data differs"

# A thin snapshot: its parent "base.st" is found beside it on the server.
copy "$tmp/out.img" url="$child_url"
cmp "$tmp/new.img" "$tmp/out.img" || fail "thin over http: data differs"
copy "$tmp/out.img" url="$child_url" cache-size=0
cmp "$tmp/new.img" "$tmp/out.img" || fail "thin over http (no cache): data differs"

# Index pages are fetched at start-up, each once, before any block, though
# 64 reads at once need them (no cache: every read goes to the server); and
# at start-up means before the first client request.
for st in child base; do hexz-info --map --json "$tmp/www/img/$st.st" > "$tmp/$st.map"; done
: > "$nginx_log"
$NBDKIT -U - "$HEXZ_PLUGIN" url="$child_url" --run true || fail "nbdkit hexz url=$child_url failed"
/usr/bin/python3 - "$nginx_log" "$tmp/child.map" "$tmp/base.map" <<'PY' || fail "index pages not fetched at start-up: $(cat "$nginx_log")"
import json, sys
log = {(l.split()[1].rsplit("/", 1)[1], l.split()[3]) for l in open(sys.argv[1]) if l.startswith("GET")}
for name, path in (("child.st", sys.argv[2]), ("base.st", sys.argv[3])):
    for p in json.load(open(path))["streams"]["disk"]["pages"]:
        if p["kind"] == "stored":
            assert (name, "bytes=%d-%d" % (p["offset"], p["offset"] + p["stored_length"] - 1)) in log, (name, p)
PY
: > "$nginx_log"
$NBDKIT -U - "$HEXZ_PLUGIN" url="$child_url" cache-size=0 --run 'nbdsh -u "$uri" -c "
import nbd
for i in range(64):
    h.aio_pread(nbd.Buffer(4096), (i * 977 % 4096) * 4096)
while h.aio_in_flight() > 0:
    h.poll(-1)
"' || fail "parallel reads of the thin snapshot failed"
/usr/bin/python3 - "$nginx_log" "$tmp/child.map" "$tmp/base.map" <<'PY' || fail "index pages not fetched once each at start-up: $(cat "$nginx_log")"
import json, sys
log = [l.split() for l in open(sys.argv[1]) if l.startswith("GET")]
pages, opening = {}, set()
for name, path in (("child", sys.argv[2]), ("base", sys.argv[3])):
    m = json.load(open(path))
    opening.add((name, "bytes=0-4095"))
    opening.add((name, "bytes=%d-%d" % (m["data_end"], m["file_size"] - 1)))
    for p in m["streams"]["disk"]["pages"]:
        if p["kind"] == "stored":
            pages[(name, "bytes=%d-%d" % (p["offset"], p["offset"] + p["stored_length"] - 1))] = 0
first_block = None
for k, (_, uri, _, rng, _) in enumerate(log):
    key = (uri.rsplit("/", 1)[1][:-3], rng)
    if key in pages:
        pages[key] += 1
        assert first_block is None, "page %s after a block" % (key,)
    elif key not in opening and first_block is None:
        first_block = k
assert pages and all(n == 1 for n in pages.values()), pages
assert first_block is not None
PY

# Start-up errors name the URL and the problem.
# (Not under ASan: there nbdkit's exit after a start-up failure can deadlock
# in p11-kit's destructor, outside hexz; see test-plugin-thin.sh.)
expect_start_error() {  # expect_start_error PATTERN ARGS...
  [ -z "${HEXZ_ASAN_PRELOAD:-}" ] || return 0
  local pat=$1
  shift
  if $NBDKIT -U - "$HEXZ_PLUGIN" "$@" --run true 2> "$tmp/err"; then fail "$* started"; fi
  grep -q -- "$pat" "$tmp/err" || fail "$*: unclear error: $(cat "$tmp/err")"
}
expect_start_error "$nginx_url/img/missing.st: bytes 0-4095: HTTP 404: no such object" url="$nginx_url/img/missing.st"
mkdir -p "$tmp/www/forbidden"
cp "$tmp/www/img/base.st" "$tmp/www/forbidden/"
expect_start_error "HTTP 403: access refused" url="$nginx_url/forbidden/base.st"
port=$(free_port)
expect_start_error "http://127.0.0.1:$port/x.st: bytes 0-4095: .*(after 2 attempts)" url="http://127.0.0.1:$port/x.st" retries=1
expect_start_error "expected http://, https:// or s3://" url=/local/file.st
# A thin snapshot whose parent on the server is another snapshot.
mkdir -p "$tmp/www/wrong"
cp "$tmp/www/img/child.st" "$tmp/www/wrong/child.st"
hexz-pack -b 16K "$tmp/base.img" "$tmp/www/wrong/base.st" > /dev/null
expect_start_error "$nginx_url/wrong/child.st: parent $nginx_url/wrong/base.st has UUID" url="$nginx_url/wrong/child.st"

# Requests made while the server is away are retried until it is back.
cat > "$tmp/stop" <<SH
kill -TERM \$(cat '$nginx_dir/nginx.pid'); while kill -0 \$(cat '$nginx_dir/nginx.pid') 2>/dev/null; do sleep 0.05; done
SH
cat > "$tmp/start" <<SH
nginx -c '$nginx_dir/nginx.conf' -p '$nginx_dir' -e '$nginx_dir/error.log'
SH
cat > "$tmp/restart.py" <<'PY'
import os, subprocess
tmp = os.environ["tmp"]
raw = open(tmp + "/base.img", "rb").read()
def check(off, n):
    assert h.pread(n, off) == raw[off:off + n], "wrong bytes at %d" % off
check(0, 65536)
subprocess.run(["sh", tmp + "/stop"], check=True)
subprocess.Popen(["sh", "-c", "sleep 1.5; sh " + tmp + "/start"])
check(8 * 1024 * 1024, 1 << 20)   # waits through the restart
PY
$NBDKIT -U - "$HEXZ_PLUGIN" url="$base_url" cache-size=0 --run 'nbdsh -u "$uri" -c "exec(open(\"$tmp/restart.py\").read())"' \
  2> "$tmp/err" || fail "no recovery after a restart: $(cat "$tmp/err")"

# ... and fail with EIO naming the URL when it stays away.
cat > "$tmp/down.py" <<'PY'
import os, subprocess, nbd
tmp = os.environ["tmp"]
h.pread(65536, 0)
subprocess.run(["sh", tmp + "/stop"], check=True)
try:
    h.pread(1 << 20, 8 * 1024 * 1024)
    raise SystemExit("read succeeded with the server down")
except nbd.Error as e:
    assert e.errnum == __import__("errno").EIO, e
PY
$NBDKIT -U - "$HEXZ_PLUGIN" url="$base_url" cache-size=0 retries=2 \
  --run 'nbdsh -u "$uri" -c "exec(open(\"$tmp/down.py\").read())"' 2> "$tmp/err" || fail "server down: $(cat "$tmp/err")"
grep -q "$base_url: .*(after 3 attempts)" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
sh "$tmp/start"

# The object replaced while served: refused, never mixed.
cp "$tmp/www/img/base.st" "$tmp/base-copy.st"
cat > "$tmp/replace.py" <<'PY'
import os, shutil, subprocess, nbd
tmp = os.environ["tmp"]
h.pread(65536, 0)
subprocess.run(["hexz-pack", "-b", "16K", tmp + "/new.img", tmp + "/other.st"], check=True, stdout=subprocess.DEVNULL)
os.rename(tmp + "/other.st", tmp + "/www/img/base.st")
try:
    h.pread(1 << 20, 8 * 1024 * 1024)
    raise SystemExit("read a replaced object")
except nbd.Error as e:
    pass
PY
$NBDKIT -U - "$HEXZ_PLUGIN" url="$base_url" cache-size=0 \
  --run 'nbdsh -u "$uri" -c "exec(open(\"$tmp/replace.py\").read())"' 2> "$tmp/err" || fail "replaced: $(cat "$tmp/err")"
grep -q "replaced or modified" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
mv "$tmp/base-copy.st" "$tmp/www/img/base.st"

# cache-dir: a second run (another process) fetches no block: only the
# opening request of each snapshot of the chain reaches the server.
copy "$tmp/out.img" url="$child_url" cache-dir="$tmp/cache"
cmp "$tmp/new.img" "$tmp/out.img" || fail "cache-dir, cold: data differs"
: > "$nginx_log"
copy "$tmp/out.img" url="$child_url" cache-dir="$tmp/cache" cache-size=0
cmp "$tmp/new.img" "$tmp/out.img" || fail "cache-dir, warm: data differs"
[ "$(log_gets "$nginx_log")" = 2 ] || fail "warm run fetched more than the two headers: $(cat "$nginx_log")"
[ "$(grep -vc 'bytes=0-4095' "$nginx_log")" = 0 ] || fail "warm run fetched blocks: $(cat "$nginx_log")"
# A damaged entry is not served: it is fetched again.
entry=$(find "$tmp/cache/v1" -type f -name '*-*' -size +4k | sort | tail -1)
printf 'XXXX' | dd of="$entry" bs=1 seek=100 conv=notrunc status=none
: > "$nginx_log"
copy "$tmp/out.img" url="$child_url" cache-dir="$tmp/cache" cache-size=0
cmp "$tmp/new.img" "$tmp/out.img" || fail "a damaged cache entry was served"
[ "$(grep -vc 'bytes=0-4095' "$nginx_log")" = 1 ] || fail "the damaged entry was not refetched: $(cat "$nginx_log")"

# HTTPS with the test's CA.
make_tls_cert
start_nginx "$tmp/www" tls
copy "$tmp/out.img" url="$nginx_url/img/child.st" cainfo="$tmp/tls/ca.pem"
cmp "$tmp/new.img" "$tmp/out.img" || fail "thin over https: data differs"
expect_start_error "$nginx_url/img/child.st: bytes 0-4095: .*certificate" url="$nginx_url/img/child.st"
