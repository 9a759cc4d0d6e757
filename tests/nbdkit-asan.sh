#!/bin/sh
# Runs nbdkit with the ASan runtime preloaded, for sanitizer builds, in which
# the plugin and filter are built with ASan but nbdkit is not.
exec env LD_PRELOAD="$HEXZ_ASAN_PRELOAD" nbdkit "$@"
