#!/usr/bin/env bash
# Benchmark of remote snapshots (nbdkit hexz url=) over a slow link: nginx
# on loopback serves the images through a delaying proxy written here (20 ms
# added to every request, standing in for a WAN).  Compared, in one run with
# interleaved repetitions:
#   hexz    nbdkit hexz url=.../disk.st              (the .st)
#   qemu    qemu-nbd -f qcow2 http://.../disk.qcow2  (qcow2 with zstd, through
#           qemu's curl driver, qemu-block-extra)
#   curl    nbdkit curl url=.../disk.raw             (the raw image)
# Measured, each from a cold start (a new server process): (1) reading a
# fixed list of 2,000 random 4 KiB blocks (IN_FLIGHT at a time), (2) a full
# sequential nbdcopy; then (3) both again for hexz with a warm cache-dir.
# Time is the median of RUNS; bytes fetched come from nginx's access log,
# and hexz's requests are split by what they fetched (open, index pages,
# blocks).  Every reader of the random list is the same nbdsh client with
# the same list and IN_FLIGHT requests at a time.  TOOLS, PHASES and ONLY
# run a part (below).
# "needed" is what the random list cannot do without: the stored bytes of
# the distinct blocks it touches, of their index pages and of the opening
# reads, as hexz-info --map reports them.
#
# Images: the dense benchmark image (DENSE_MB, default 1500) and, if
# bench-diff.sh has built it, its 2 GiB GPT disk ($BENCH_DIR/diff/disk.raw).
source "$(dirname "$0")/bench-lib.sh"
for c in nginx nbdkit qemu-nbd qemu-img nbdcopy nbdsh bc; do
  command -v $c > /dev/null || { echo "bench-remote: $c is not installed (scripts/install-deps.sh)"; exit 1; }
done
[ -e /usr/lib/x86_64-linux-gnu/qemu/block-curl.so ] ||
  { echo "bench-remote: qemu's curl driver is missing (apt-get install qemu-block-extra)"; exit 1; }
DELAY_MS=${DELAY_MS:-20}
# What to run (all by default): TOOLS from hexz qemu curl warm, PHASES from
# rand seq.  The ratios need all of them.
TOOLS=${TOOLS:-hexz qemu curl warm}
PHASES=${PHASES:-rand seq}
NRAND=${NRAND:-2000}
rd=$BENCH_DIR/remote
mkdir -p "$rd/www" "$rd/nginx"
cd "$rd"

images=()
dense_image "$BENCH_DIR/dense.img"
images+=("$BENCH_DIR/dense.img")
[ -f "$BENCH_DIR/diff/disk.raw" ] && images+=("$BENCH_DIR/diff/disk.raw")
# ONLY=NAME (dense or disk): that image alone.
if [ -n "${ONLY:-}" ]; then
  for i in "${images[@]}"; do [ "$(basename "${i%.*}")" = "$ONLY" ] && images=("$i"); done
fi

# nginx on loopback, and the proxy in front of it.
port=$((20000 + RANDOM % 20000))
pport=$((port + 1))
cat > nginx/nginx.conf <<CONF
worker_processes 2;
user root;
pid $rd/nginx/nginx.pid;
error_log $rd/nginx/error.log;
events { worker_connections 1024; }
http {
  log_format b '\$request_method \$uri \$status \$http_range \$body_bytes_sent \$msec';
  access_log $rd/nginx/access.log b;
  keepalive_requests 1000000;
  sendfile on;
  server { listen 127.0.0.1:$port; root $rd/www; }
}
CONF
nginx -c "$rd/nginx/nginx.conf" -p "$rd/nginx"
cat > proxy.py <<'PY'
# A TCP proxy on 127.0.0.1 that holds each HTTP request DELAY seconds
# before passing it on: data from the client after the server has answered
# (or on a new connection) starts a request.
import asyncio, sys
listen, target, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000
async def pipe(src, dst, state, upstream):
    try:
        while data := await src.read(65536):
            if upstream and not state["waiting"]:
                state["waiting"] = True
                await asyncio.sleep(delay)
            if not upstream:
                state["waiting"] = False
            dst.write(data)
            await dst.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        dst.close()
async def handle(cr, cw):
    sr, sw = await asyncio.open_connection("127.0.0.1", target)
    state = {"waiting": False}
    await asyncio.gather(pipe(cr, sw, state, True), pipe(sr, cw, state, False))
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()
asyncio.run(main())
PY
/usr/bin/python3 proxy.py $pport $port $DELAY_MS &
proxy_pid=$!
trap 'kill $proxy_pid 2>/dev/null; kill $(cat "$rd/nginx/nginx.pid") 2>/dev/null' EXIT
sleep 0.5
base=http://127.0.0.1:$pport

# The reader of the random list: IN_FLIGHT requests at a time (default 16,
# nbdkit's default thread count; a booting guest issues many at once).
cat > rand.py <<'PY'
import os, random, nbd
size = h.get_size()
random.seed(7)
offs = [random.randrange(size // 4096) * 4096 for _ in range(int(os.environ["NRAND"]))]
for o in offs:
    while h.aio_in_flight() >= int(os.environ["IN_FLIGHT"]):
        h.poll(-1)
    h.aio_pread(nbd.Buffer(4096), o)
while h.aio_in_flight() > 0:
    h.poll(-1)
PY
IN_FLIGHT=${IN_FLIGHT:-16}
export NRAND IN_FLIGHT

# needed ST: the stored bytes the random list needs, as hexz-info --map
# tells them: the distinct stored ranges of the blocks it touches, the
# stored index pages describing them, and what opening reads (the header's
# 4 KiB and the section area).
needed() {
  hexz-info --map --json "$1" | /usr/bin/python3 -c '
import bisect, json, os, random, sys
m = json.load(sys.stdin)
st, bs = m["streams"]["disk"], m["block_size"]
ext = st["extents"]
size = ext[-1]["start"] + ext[-1]["length"]
starts = [e["start"] for e in ext]
random.seed(7)
offs = [random.randrange(size // 4096) * 4096 for _ in range(int(os.environ["NRAND"]))]
ranges, pages = set(), set()
for b in {o // bs for o in offs} | {(o + 4095) // bs for o in offs}:
    if b * bs >= size: continue
    p = st["pages"][b // st["page_entries"]]
    if p["kind"] == "stored": pages.add((p["offset"], p["stored_length"]))
    e = ext[bisect.bisect_right(starts, b * bs) - 1]
    if e["kind"] == "data": ranges.add((e["offset"], e["stored_length"]))
print(sum(n for _, n in ranges | pages) + 4096 + m["file_size"] - m["data_end"])
'
}

log=$rd/nginx/access.log
# phases ST: hexz's requests of the last run by what they fetched, as
# hexz-info --map places the ranges: "open" (the header, the section area),
# "index" (index pages) and "blocks" (stored blocks), each as
# requests/bytes.
phases() {
  hexz-info --map --json "$1" | /usr/bin/python3 -c '
import bisect, json, sys
m = json.load(sys.stdin)
pages = sorted((p["offset"], p["offset"] + p["stored_length"]) for s in m["streams"].values()
               for p in s["pages"] if p["kind"] == "stored")
starts = [a for a, _ in pages]
n = {"open": [0, 0], "index": [0, 0], "blocks": [0, 0]}
for line in open(sys.argv[1]):
    f = line.split()
    if f[0] != "GET" or not f[3].startswith("bytes="): continue
    a, b = (int(x) for x in f[3][6:].split("-"))
    k = bisect.bisect_right(starts, a) - 1
    kind = "open" if a == 0 or a >= m["data_end"] else "index" if k >= 0 and pages[k][1] > a else "blocks"
    n[kind][0] += 1
    n[kind][1] += int(f[4])
print(" ".join("%s %d/%d" % (k, v[0], v[1]) for k, v in n.items()))
' "$log"
}
fetched() { awk '$1 == "GET" || $1 == "HEAD" { n += $5 } END { printf "%.0f\n", n }' "$log"; }
requests() { grep -c . "$log" || true; }

# run TOOL WHAT IMG: one cold measurement; prints "seconds bytes requests".
run() {
  local tool=$1 what=$2 name=$3 cmd
  case $what in
    rand) cmd='nbdsh -u "$uri" -c "exec(open(\"'$rd'/rand.py\").read())"' ;;
    seq) cmd='nbdcopy "$uri" null:' ;;
  esac
  : > "$log"
  local s e
  s=$(date +%s.%N)
  case $tool in
    hexz) nbdkit -U - "$HEXZ_PLUGIN" url="$base/$name.st" --run "$cmd" ;;
    warm) nbdkit -U - "$HEXZ_PLUGIN" url="$base/$name.st" cache-dir="$rd/cache" --run "$cmd" ;;
    curl) nbdkit -U - curl url="$base/$name.raw" --run "$cmd" ;;
    qemu)
      rm -f qemu.sock
      qemu-nbd -r -f qcow2 -k "$rd/qemu.sock" "$base/$name.qcow2" & local q=$!
      for _ in $(seq 100); do [ -S qemu.sock ] && break; sleep 0.05; done
      uri="nbd+unix:///?socket=$rd/qemu.sock" bash -c "$cmd"
      kill $q 2>/dev/null || true  # it exits by itself when its client leaves
      wait $q 2>/dev/null || true ;;
  esac > /dev/null 2>&1
  e=$(date +%s.%N)
  echo "$(echo "$e - $s" | bc -l) $(fetched) $(requests)"
}

for img in "${images[@]}"; do
  name=$(basename "${img%.*}")
  [ -f "www/$name.raw" ] || cp --sparse=always "$img" "www/$name.raw"
  [ -f "www/$name.st" ] || hexz-pack "$img" "www/$name.st" > /dev/null
  [ -f "www/$name.qcow2" ] || qemu-img convert -O qcow2 -c -o compression_type=zstd "$img" "www/$name.qcow2"
  st=$(stat -c %s "www/$name.st")
  need=$(needed "www/$name.st")
  echo "== $name: raw $(stat -c %s "www/$name.raw") bytes, .st $st, qcow2 $(stat -c %s "www/$name.qcow2"); random list needs $need stored bytes; ${DELAY_MS} ms per request"
  declare -A T B R P
  for what in $PHASES; do
    rm -rf "$rd/cache"
    run warm "$what" "$name" > /dev/null  # fills the cache-dir
    for r in $(seq "$RUNS"); do
      for tool in $TOOLS; do
        read -r t b q < <(run $tool $what "$name")
        T[$tool.$what]+="$t "
        B[$tool.$what]=$b
        R[$tool.$what]=$q
        case $tool in hexz | warm) P[$tool.$what]=$(phases "www/$name.st") ;; esac
      done
    done
    for tool in $TOOLS; do
      printf '  %-5s %-4s %8.2f s  %12s bytes fetched  %7s requests  %s\n' $tool $what \
        "$(median ${T[$tool.$what]})" "${B[$tool.$what]}" "${R[$tool.$what]}" "${P[$tool.$what]:-}"
    done
  done
  if [ "$TOOLS" = "hexz qemu curl warm" ] && [ "$PHASES" = "rand seq" ]; then
    th=$(median ${T[hexz.rand]}) tq=$(median ${T[qemu.rand]}) sh=$(median ${T[hexz.seq]}) sc=$(median ${T[curl.seq]})
    echo "  cold random: qemu/hexz time $(ratio "$tq" "$th")x (target >= 2); hexz bytes / needed $(ratio "${B[hexz.rand]}" "$need") (target <= 1.1)"
    echo "  sequential:  curl/hexz time $(ratio "$sc" "$sh")x (target >= 2); hexz bytes / .st size $(ratio "${B[hexz.seq]}" "$st")"
    echo "  warm cache-dir: ${B[warm.rand]} bytes in ${R[warm.rand]} requests random, ${B[warm.seq]} bytes in ${R[warm.seq]} sequential (target: nothing but the opening request, which pins the object's ETag)"
  fi
  unset T B R P
done
