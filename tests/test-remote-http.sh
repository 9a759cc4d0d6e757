#!/usr/bin/env bash
# The HTTP(S) range-reading layer against a real nginx on loopback: exact
# bytes, clear errors for 404/403/unreachable/bad certificates, retries when
# the server goes away and comes back, EIO naming the URL when it stays
# away, a replaced object refused, and the cache-dir (no request on a warm
# read, a damaged entry fetched again).
source "$srcdir/functions.sh"
source "$srcdir/remote-functions.sh"
[ -n "${HEXZ_TEST_TRACE:-}" ] && set -x
requires nginx openssl cmp
get=./remote-get

mkdir -p "$tmp/www/d" "$tmp/www/forbidden"
head -c 300000 /dev/urandom > "$tmp/www/d/obj.bin"
cp "$tmp/www/d/obj.bin" "$tmp/www/forbidden/obj.bin"
obj=$tmp/www/d/obj.bin
start_nginx "$tmp/www"
url=$nginx_url/d/obj.bin

# slice OFF LEN: the expected bytes.
slice() { dd if="$obj" iflag=skip_bytes,count_bytes skip="$1" count="$2" status=none; }

[ "$($get "$url")" = 300000 ] || fail "wrong size"
$get "$url" 0:100 123456:7000 299990:10 > "$tmp/out" 2> "$tmp/err" || fail "read failed: $(cat "$tmp/err")"
{ slice 0 100; slice 123456 7000; slice 299990 10; } | cmp - "$tmp/out" || fail "wrong bytes"
# One request to open, one per range, all counted by the server too.
grep -q "^requests=4 " "$tmp/err" || fail "unexpected request count: $(cat "$tmp/err")"
[ "$(log_gets "$nginx_log")" = 5 ] || fail "nginx counted other requests: $(cat "$nginx_log")"

# Reads beyond the end are refused, not padded.
if $get "$url" 299990:11 > /dev/null 2> "$tmp/err"; then fail "read past the end"; fi
grep -q "beyond the end" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"

# Start-up errors name the URL and say what is wrong.
expect_error() {  # expect_error PATTERN ARGS...
  local pat=$1
  shift
  if $get "$@" > /dev/null 2> "$tmp/err"; then fail "$* succeeded"; fi
  grep -q -- "$pat" "$tmp/err" || fail "$*: unclear error: $(cat "$tmp/err")"
}
expect_error "$nginx_url/d/missing.st: bytes 0-4095: HTTP 404: no such object" "$nginx_url/d/missing.st"
expect_error "HTTP 403: access refused" "$nginx_url/forbidden/obj.bin"
port=$(free_port)
expect_error "http://127.0.0.1:$port/x.st: bytes 0-4095: .*after 2 attempts" retries=1 "http://127.0.0.1:$port/x.st"

# TLS: verified against the test's CA; refused without it; sslverify=false.
make_tls_cert
saved_url=$url
start_nginx "$tmp/www" tls
surl=$nginx_url/d/obj.bin
$get cainfo="$tmp/tls/ca.pem" "$surl" 1000:5000 > "$tmp/out" || fail "https read failed"
slice 1000 5000 | cmp - "$tmp/out" || fail "https: wrong bytes"
expect_error "$surl: bytes 0-4095: .*certificate" "$surl"
$get sslverify=false "$surl" 7:9 > "$tmp/out" || fail "sslverify=false failed"
slice 7 9 | cmp - "$tmp/out" || fail "https: wrong bytes"
stop_nginx
nginx_dir=$tmp/nginx
url=$saved_url

# The server stops in the middle of a run and comes back: retries succeed.
$get "$url" 0:100 wait:"$tmp/go1" 200000:5000 > "$tmp/out" 2> "$tmp/err" &
pid=$!
sleep 0.3
stop_nginx
touch "$tmp/go1"
sleep 1
start_nginx "$tmp/www"
wait $pid || fail "no recovery after the server came back: $(cat "$tmp/err")"
{ slice 0 100; slice 200000 5000; } | cmp - "$tmp/out" || fail "wrong bytes after a restart"
grep -q "retrying in" "$tmp/err" || fail "no retry was logged: $(cat "$tmp/err")"

# ... or stays away: EIO with the URL, the range and the last error.
$get retries=2 "$url" 0:100 wait:"$tmp/go2" 200000:5000 > /dev/null 2> "$tmp/err" &
pid=$!
sleep 0.3
stop_nginx
touch "$tmp/go2"
if wait $pid; then fail "read succeeded with the server down"; fi
grep -q "$url: bytes 200000-204999: .*(after 3 attempts)" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
start_nginx "$tmp/www"

# The object is replaced while it is being read: refused, not mixed.
$get "$url" 0:100 wait:"$tmp/go3" 200000:5000 > /dev/null 2> "$tmp/err" &
pid=$!
sleep 0.3
head -c 300000 /dev/urandom > "$tmp/new.bin"
touch -d '2001-01-01' "$tmp/new.bin"
mv "$tmp/new.bin" "$obj"
touch "$tmp/go3"
if wait $pid; then fail "read a replaced object"; fi
grep -q "replaced or modified" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"

# cache-dir: the second run sends no range request but the opening one.
ranges="5000:3000 100000:60000 250000:40000"
$get cache-dir="$tmp/cache" "$url" $ranges > "$tmp/out1" || fail "cached read failed"
: > "$nginx_log"
$get cache-dir="$tmp/cache" "$url" $ranges > "$tmp/out2" 2> "$tmp/err" || fail "warm read failed"
cmp "$tmp/out1" "$tmp/out2" || fail "warm read: wrong bytes"
for r in $ranges; do slice "${r%:*}" "${r#*:}"; done | cmp - "$tmp/out2" || fail "cached bytes differ"
[ "$(log_gets "$nginx_log")" = 1 ] || fail "warm run made requests: $(cat "$nginx_log")"
grep -q "hits=3 damaged=0" "$tmp/err" || fail "no cache hits: $(cat "$tmp/err")"
# A damaged entry is detected, removed and fetched again.
entry=$(find "$tmp/cache/v1" -type f -size +50k | head -1)
printf 'X' | dd of="$entry" bs=1 seek=20000 conv=notrunc status=none
: > "$nginx_log"
$get cache-dir="$tmp/cache" "$url" $ranges > "$tmp/out3" 2> "$tmp/err" || fail "read with a damaged entry failed"
cmp "$tmp/out1" "$tmp/out3" || fail "a damaged cache entry was served"
grep -q "hits=2 damaged=1" "$tmp/err" || fail "damage not detected: $(cat "$tmp/err")"
[ "$(log_gets "$nginx_log")" = 2 ] || fail "the damaged entry was not refetched: $(cat "$nginx_log")"
