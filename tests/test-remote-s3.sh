#!/usr/bin/env bash
# S3 through SigV4 against a real S3 API server on loopback (path-style,
# s3-endpoint=): exact bytes with the right secret; the server checks
# signatures, so a wrong secret is refused (and never printed); a missing key
# is a clear 404; credentials also come from ~/.aws/credentials.
source "$srcdir/functions.sh"
source "$srcdir/remote-functions.sh"
requires cmp
get=./remote-get

start_s3 "$tmp/s3"
head -c 200000 /dev/urandom > "$tmp/obj.bin"
s3_put "$tmp/obj.bin" "img/obj.bin"
slice() { dd if="$tmp/obj.bin" iflag=skip_bytes,count_bytes skip="$1" count="$2" status=none; }

ep=s3-endpoint=$s3_endpoint
[ "$($get "$ep" s3://hexz/img/obj.bin)" = 200000 ] || fail "wrong size"
$get "$ep" s3://hexz/img/obj.bin 0:10 150000:50000 > "$tmp/out" 2> "$tmp/err" || fail "read failed: $(cat "$tmp/err")"
{ slice 0 10; slice 150000 50000; } | cmp - "$tmp/out" || fail "wrong bytes"

# The same request with a wrong secret: the server refuses the signature.
if AWS_SECRET_ACCESS_KEY=not-the-secret-42 $get "$ep" s3://hexz/img/obj.bin 0:10 > /dev/null 2> "$tmp/err"; then
  fail "a wrong secret was accepted"
fi
grep -q "s3://hexz/img/obj.bin: bytes 0-4095: HTTP 403 (SignatureDoesNotMatch): access refused" "$tmp/err" ||
  fail "unclear error: $(cat "$tmp/err")"
if grep -q "not-the-secret-42" "$tmp/err"; then fail "the secret was printed"; fi
# An unknown access key is refused too.
if AWS_ACCESS_KEY_ID=NOBODY $get "$ep" s3://hexz/img/obj.bin > /dev/null 2> "$tmp/err"; then
  fail "an unknown key was accepted"
fi
grep -q "HTTP 403 (InvalidAccessKeyId)" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"

# A missing key.
if $get "$ep" s3://hexz/img/nothing.st > /dev/null 2> "$tmp/err"; then fail "opened a missing key"; fi
grep -q "s3://hexz/img/nothing.st: bytes 0-4095: HTTP 404 (NoSuchKey): no such object" "$tmp/err" ||
  fail "unclear error: $(cat "$tmp/err")"

# Credentials from ~/.aws/credentials (profile from AWS_PROFILE).
mkdir -p "$tmp/home/.aws"
printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = wrong\n[test]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' \
  > "$tmp/home/.aws/credentials"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$tmp/home" AWS_PROFILE=test \
  $get "$ep" s3://hexz/img/obj.bin 100:100 > "$tmp/out" || fail "credentials file not used"
slice 100 100 | cmp - "$tmp/out" || fail "wrong bytes"
if env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$tmp/home" $get "$ep" s3://hexz/img/obj.bin > /dev/null 2>&1; then
  fail "the default profile's wrong secret was accepted"
fi
