# Tests of the nbdkit hexz plugin (plugins/hexz).

# Writes thin snapshots for test-plugin-thin.sh.
check_PROGRAMS += make-thin
make_thin_SOURCES = make-thin.cpp
# Not a Criterion program: the core libraries only.
make_thin_LDADD = $(WRITE_LIBS)

# The block cache under contention (a Criterion unit test of plugin code).
check_PROGRAMS += unit-block-cache
TESTS += unit-block-cache
unit_block_cache_SOURCES = unit-block-cache.cpp ../plugins/hexz/block-cache.cpp
unit_block_cache_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/hexz

PLUGIN_TESTS = \
	test-plugin-cli.sh \
	test-plugin-copy.sh \
	test-plugin-corrupt.sh \
	test-plugin-deps.sh \
	test-plugin-map.sh \
	test-plugin-paged.sh \
	test-plugin-random.sh \
	test-plugin-thin.sh
TESTS += $(PLUGIN_TESTS)
EXTRA_DIST += $(PLUGIN_TESTS) plugin-map-check.py
