# Tests of hexz-commit.
COMMIT_TESTS = \
	test-commit-basic.sh \
	test-commit-chain.sh \
	test-commit-kill.sh \
	test-commit-memory.sh \
	test-commit-overlay.sh \
	test-commit-rawbase.sh \
	test-commit-thin-reads.sh
TESTS += $(COMMIT_TESTS)
EXTRA_DIST += $(COMMIT_TESTS) commit-functions.sh
