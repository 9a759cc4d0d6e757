# Helpers for the remote tests: real servers on loopback (127.0.0.1 only),
# started and stopped by the test.  Source after functions.sh.

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  fail "no free port on 127.0.0.1"
}

# make_tls_cert: a CA ($tmp/tls/ca.pem) and a certificate for 127.0.0.1 and
# localhost signed by it ($tmp/tls/server.{pem,key}).
make_tls_cert() {
  local d=$tmp/tls
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=hexz test CA" \
    -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$d/ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/ext" -out "$d/server.pem" 2>/dev/null
}

# start_nginx ROOT [tls]: serves directory ROOT on 127.0.0.1 (TLS with the
# certificate of make_tls_cert), setting $nginx_url (no trailing slash),
# $nginx_log (one line per request: method uri status range bytes) and
# $nginx_dir.  /forbidden/ answers 403.  Stopped at exit.  start_nginx again
# after stop_nginx reuses the same port.
start_nginx() {
  local root=$1 tls=${2:-}
  nginx_dir=$tmp/nginx${tls:+-tls}
  mkdir -p "$nginx_dir"
  local port
  port=$(cat "$nginx_dir/port" 2>/dev/null || free_port)
  echo "$port" > "$nginx_dir/port"
  local listen="listen 127.0.0.1:$port;" ssl=
  if [ -n "$tls" ]; then
    listen="listen 127.0.0.1:$port ssl;"
    ssl="ssl_certificate $tmp/tls/server.pem; ssl_certificate_key $tmp/tls/server.key;"
  fi
  cat > "$nginx_dir/nginx.conf" <<CONF
worker_processes 1;
user root;
pid $nginx_dir/nginx.pid;
error_log $nginx_dir/error.log;
events { worker_connections 256; }
http {
  log_format hexz '\$request_method \$uri \$status \$http_range \$body_bytes_sent';
  access_log $nginx_dir/access.log hexz;
  client_body_temp_path $nginx_dir/body;
  proxy_temp_path $nginx_dir/proxy;
  fastcgi_temp_path $nginx_dir/fastcgi;
  uwsgi_temp_path $nginx_dir/uwsgi;
  scgi_temp_path $nginx_dir/scgi;
  keepalive_requests 100000;
  server {
    $listen
    $ssl
    root $root;
    location /forbidden/ { deny all; }
  }
}
CONF
  nginx -c "$nginx_dir/nginx.conf" -p "$nginx_dir" -e "$nginx_dir/error.log" ||
    fail "nginx did not start: $(cat "$nginx_dir/error.log")"
  cleanup_fn "stop_nginx '$nginx_dir'"
  nginx_log=$nginx_dir/access.log
  nginx_url=http${tls:+s}://127.0.0.1:$port
}

# stop_nginx [DIR]: stops the nginx of DIR (default: the last started) and
# waits until it is gone.
stop_nginx() {
  local d=${1:-$nginx_dir} pid
  pid=$(cat "$d/nginx.pid" 2>/dev/null) || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait_until 10 eval "! running $pid" || true
  rm -f "$d/nginx.pid"
}

# log_gets LOG: the number of GET requests in an nginx access log;
# log_bytes LOG: the body bytes they sent.
log_gets() { grep -c '^GET ' "$1" || true; }
log_bytes() { awk '$1 == "GET" { n += $NF } END { print n + 0 }' "$1"; }

# start_s3 DIR: an S3 API server on 127.0.0.1 storing into DIR, with bucket
# "hexz" and the account S3RVER / S3RVER (signatures are checked).  Sets
# $s3_endpoint and exports the AWS_* variables for that account.
HEXZ_NPM_DIR=${HEXZ_NPM_DIR:-/opt/hexz-npm}
start_s3() {
  if [ ! -f "$HEXZ_NPM_DIR/node_modules/@20minutes/s3rver/package.json" ]; then
    echo "$0: SKIP: the S3 test server is not installed (scripts/install-deps.sh)"
    exit $SKIP
  fi
  requires node curl
  local port
  port=$(free_port)
  start_server -o "$tmp/s3.log" s3_pid "grep -q '^ready' '$tmp/s3.log'" \
    env HEXZ_NPM_DIR="$HEXZ_NPM_DIR" node "$srcdir/s3-server.js" "$1" "$port"
  s3_endpoint=http://127.0.0.1:$port
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
  unset AWS_SESSION_TOKEN AWS_PROFILE
}

# s3_put FILE KEY: uploads FILE to s3://hexz/KEY with curl's own SigV4.
s3_put() {
  curl -sS -f -o /dev/null --aws-sigv4 "aws:amz:$AWS_REGION:s3" -u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$1" "$s3_endpoint/hexz/$2" ||
    fail "cannot upload $1 to the S3 server"
}
