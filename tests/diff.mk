# Tests of hexz-diff: overlay mode (test-diff-*) and image mode (test-imagediff-*).

# Writes two versions of a block with equal XXH3-64, for test-imagediff-index.sh.
check_PROGRAMS += make-collision
make_collision_SOURCES = make-collision.cpp
make_collision_LDADD = $(SNAPSHOT_LIBS)
DIFF_TESTS = \
	test-diff-bounds.sh \
	test-diff-escape.sh \
	test-diff-ext4.sh \
	test-diff-iso.sh \
	test-diff-json.sh \
	test-diff-malformed.sh \
	test-diff-mbr.sh \
	test-diff-order.sh \
	test-diff-report.sh \
	test-diff-rewrite.sh \
	test-diff-sidefiles.sh \
	test-diff-modes.sh \
	test-diff-sandbox.sh \
	test-imagediff-blocks.sh \
	test-imagediff-errors.sh \
	test-imagediff-files.sh \
	test-imagediff-index.sh
TESTS += $(DIFF_TESTS)
EXTRA_DIST += $(DIFF_TESTS) diff-functions.sh json-schema.py

# The filesystem layer's defences (chunk cache, sandbox wire decoders).
check_PROGRAMS += unit-fs
TESTS += unit-fs
unit_fs_SOURCES = unit-fs.cpp
unit_fs_CPPFLAGS = $(AM_CPPFLAGS) $(FS_CPPFLAGS)
unit_fs_LDADD = $(FS_LIBS) $(LDADD)
