# Tests of moving things: relative references, hexz-info without a parent,
# hexz-rebase.
REBASE_TESTS = \
	test-rebase-moved.sh \
	test-rebase.sh
TESTS += $(REBASE_TESTS)
EXTRA_DIST += $(REBASE_TESTS)
