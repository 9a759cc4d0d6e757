# Benchmark scripts: add them to EXTRA_DIST here.
