#!/usr/bin/env bash
# Durability of the hexz-cow filter: writes, zeroes and trims that a client
# flushed survive kill -9 of nbdkit; later unflushed writes are not listed in
# .meta; a restart on the same overlay serves exactly the flushed state and
# .meta lists exactly the flushed blocks.  Also: FUA alone makes a write
# durable, and a second round on the reopened overlay adds to it.
source "$srcdir/functions.sh"
requires nbdsh nbdcopy

head -c $((4 * 1024 * 1024)) /dev/urandom > "$tmp/base.img"
hexz-pack -b 64K "$tmp/base.img" "$tmp/base.st" > /dev/null
ov="$tmp/vm.overlay"
sock="$tmp/sock"

start() { start_nbdkit "$sock" --filter="$HEXZ_COW_FILTER" "$HEXZ_PLUGIN" file="$tmp/base.st" overlay="$ov"; }
crash() {
  kill -9 "$nbdkit_pid" 2>/dev/null || true
  wait || true
  nbdkit_pid=
}

export sock tmp
# Round 1: flushed work (set A), then FUA-only work (set F), then unflushed
# writes to blocks of their own (set B); then kill -9.
start
nbdsh -c '
import os, random, struct
rng = random.Random(1)
h = nbd.NBD(); h.connect_unix(os.environ["sock"])
t = os.environ["tmp"]
model = bytearray(open(t + "/base.img", "rb").read())
A = set()
def w(off, data, flags=0):
    h.pwrite(data, off, flags); model[off:off+len(data)] = data; A.update(range(off // 4096, (off + len(data) - 1) // 4096 + 1))
for i in range(200):
    off = rng.randrange(0, 2 << 20); n = rng.choice([1, 100, 4096, 5000, 20000])
    w(off, rng.randbytes(n))
h.zero(10000, 100000); model[100000:110000] = bytes(10000); A.update(range(100000 // 4096, 109999 // 4096 + 1))
h.trim(65536, 1 << 20); model[1<<20:(1<<20)+65536] = bytes(65536); A.update(range(256, 272))
h.flush()
w(3 << 20, b"F" * 6000, nbd.CMD_FLAG_FUA)
open(os.environ["tmp"] + "/expect.img", "wb").write(model)
open(os.environ["tmp"] + "/expect.meta", "wb").write(b"".join(struct.pack("<Q", b) for b in sorted(A)))
# Unflushed: blocks nobody touched yet.
for off in range((3 << 20) + 65536, (3 << 20) + 65536 + 40 * 4096, 8192):
    h.pwrite(b"U" * 4096, off)
# Crash with the connection still open (closing it would flush).
os.kill(int(open(os.environ["sock"] + ".pid").read()), 9)
' || fail "round 1 nbdsh"
crash
cmp "$tmp/expect.meta" "$tmp/vm.overlay.meta" || fail ".meta after kill -9 is not exactly the flushed set"

start
nbdcopy "nbd+unix:///?socket=$sock" "$tmp/got.img" || fail "nbdcopy"
cmp "$tmp/got.img" "$tmp/expect.img" || fail "flushed data not back after kill -9"

# Round 2 on the reopened overlay: more flushed writes, crash again.
nbdsh -c '
import os, struct
h = nbd.NBD(); h.connect_unix(os.environ["sock"])
t = os.environ["tmp"]
model = bytearray(open(t + "/expect.img", "rb").read())
meta = open(t + "/expect.meta", "rb").read()
A = set(struct.unpack("<%dQ" % (len(meta) // 8), meta))
h.pwrite(b"second" * 1000, 2 << 20); model[2<<20:(2<<20)+6000] = b"second" * 1000
A.update(range(512, 514))
h.flush()
open(t + "/expect.img", "wb").write(model)
open(t + "/expect.meta", "wb").write(b"".join(struct.pack("<Q", b) for b in sorted(A)))
h.pwrite(b"unflushed" * 1000, 7 << 19)  # a block of its own: invisible after the crash
os.kill(int(open(os.environ["sock"] + ".pid").read()), 9)
' || fail "round 2 nbdsh"
crash
cmp "$tmp/expect.meta" "$tmp/vm.overlay.meta" || fail ".meta after the second kill -9 is wrong"
start
nbdcopy "nbd+unix:///?socket=$sock" "$tmp/got.img" || fail "nbdcopy"
cmp "$tmp/got.img" "$tmp/expect.img" || fail "data after the second kill -9 is wrong"
# A clean stop (SIGTERM) keeps it all too.
kill "$nbdkit_pid"
wait || true
nbdkit_pid=
cmp "$tmp/expect.meta" "$tmp/vm.overlay.meta" || fail ".meta changed by a clean stop without writes"
