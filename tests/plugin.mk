# Tests of the nbdkit hexz plugin (plugins/hexz).

# Writes thin snapshots for test-plugin-thin.sh.
check_PROGRAMS += make-thin
make_thin_SOURCES = make-thin.cpp
# Not a Criterion program: the core libraries only.
make_thin_LDADD = $(WRITE_LIBS)

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
