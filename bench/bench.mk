# Benchmark scripts: add them to EXTRA_DIST here.
EXTRA_DIST += bench-plugin.sh
EXTRA_DIST += bench-mount.sh
EXTRA_DIST += bench-lib.sh bench-pack.sh
EXTRA_DIST += bench-commit.sh
EXTRA_DIST += bench-diff.sh
EXTRA_DIST += bench-imagediff.sh
EXTRA_DIST += bench-cow.sh
