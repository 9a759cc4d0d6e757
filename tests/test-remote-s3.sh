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

# nbdkit hexz url=s3://: a thin snapshot and its parent, beside it in the
# bucket, served byte-exact; with a wrong secret nbdkit does not start.
requires nbdcopy mkfs.ext4
make_tree "$tmp/tree"
make_ext4 "$tmp/base.img" 8M "$tmp/tree"
cp "$tmp/base.img" "$tmp/new.img"
head -c 50000 /dev/urandom | dd of="$tmp/new.img" bs=1 seek=500000 conv=notrunc status=none
hexz-pack -b 16K "$tmp/base.img" "$tmp/base.st" > /dev/null
./make-thin "$tmp/base.st" "$tmp/new.img" "$tmp/child.st" > /dev/null
s3_put "$tmp/base.st" vm/base.st
s3_put "$tmp/child.st" vm/child.st
$NBDKIT -U - "$HEXZ_PLUGIN" url=s3://hexz/vm/child.st "$ep" --run 'nbdcopy "$uri" "'"$tmp/out.img"'"' 2> "$tmp/err" ||
  fail "serving from S3 failed: $(cat "$tmp/err")"
cmp "$tmp/new.img" "$tmp/out.img" || fail "thin snapshot from S3: data differs"
# The endpoint may also come from the environment, as for the AWS tools.
rm -f "$tmp/out.img"
AWS_ENDPOINT_URL_S3=$s3_endpoint $NBDKIT -U - "$HEXZ_PLUGIN" url=s3://hexz/vm/base.st \
  --run 'nbdcopy "$uri" "'"$tmp/out.img"'"' 2> "$tmp/err" || fail "AWS_ENDPOINT_URL_S3: $(cat "$tmp/err")"
cmp "$tmp/base.img" "$tmp/out.img" || fail "snapshot from S3: data differs"
# (Not under ASan: nbdkit's exit after a start-up failure can deadlock there.)
if [ -z "${HEXZ_ASAN_PRELOAD:-}" ]; then
  if AWS_SECRET_ACCESS_KEY=not-the-secret-42 $NBDKIT -U - "$HEXZ_PLUGIN" url=s3://hexz/vm/child.st "$ep" \
    --run true 2> "$tmp/err"; then
    fail "nbdkit started with a wrong secret"
  fi
  grep -q "s3://hexz/vm/child.st: bytes 0-4095: HTTP 403 (SignatureDoesNotMatch)" "$tmp/err" ||
    fail "unclear error: $(cat "$tmp/err")"
  if grep -q "not-the-secret-42" "$tmp/err"; then fail "the secret was printed"; fi
fi
