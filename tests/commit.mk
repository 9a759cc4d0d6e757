# Tests of hexz-commit (they skip until the hexz plugin and hexz-cow filter
# are built).
COMMIT_TESTS = \
	test-commit-basic.sh \
	test-commit-chain.sh \
	test-commit-overlay.sh \
	test-commit-memory.sh \
	test-commit-kill.sh \
	test-commit-thin-reads.sh
TESTS += $(COMMIT_TESTS)
EXTRA_DIST += $(COMMIT_TESTS) commit-functions.sh
