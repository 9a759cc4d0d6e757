# plugin-map-check.py IMAGE MAP.json BLOCK_SIZE: checks that the extents
# "nbdinfo --map --json" reported for IMAGE served by nbdkit hexz are exactly
# the runs of all-zero (hole,zero) and other (data) blocks of IMAGE.
import json, sys
img, mapfile, bs = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(img, "rb").read()
# Expected: runs of all-zero / not-all-zero blocks of the raw image.
expected = []
for off in range(0, len(data), bs):
    blk = data[off:off + bs]
    zero = blk.count(0) == len(blk)
    if expected and expected[-1][2] == zero:
        expected[-1][1] += len(blk)
    else:
        expected.append([off, len(blk), zero])
# Reported: nbdinfo's extents, merged the same way (type 3 = hole,zero).
got = []
for e in json.load(open(mapfile)):
    zero = e["type"] == 3
    assert e["type"] in (0, 3), e
    if got and got[-1][2] == zero and got[-1][0] + got[-1][1] == e["offset"]:
        got[-1][1] += e["length"]
    else:
        got.append([e["offset"], e["length"], zero])
if got != expected:
    print("expected:", expected, "\ngot:     ", got)
    sys.exit(1)
assert any(z for _, _, z in got) and any(not z for _, _, z in got)
print(len(got), "extents match")
