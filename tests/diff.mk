# Tests of hexz-diff: overlay mode (test-diff-*) and image mode (test-imagediff-*).
DIFF_TESTS = \
	test-diff-escape.sh \
	test-diff-ext4.sh \
	test-diff-iso.sh \
	test-diff-json.sh \
	test-diff-malformed.sh \
	test-diff-mbr.sh \
	test-diff-order.sh \
	test-diff-report.sh \
	test-diff-rewrite.sh \
	test-diff-modes.sh \
	test-imagediff-blocks.sh \
	test-imagediff-errors.sh \
	test-imagediff-files.sh \
	test-imagediff-index.sh
TESTS += $(DIFF_TESTS)
EXTRA_DIST += $(DIFF_TESTS) diff-functions.sh json-schema.py
