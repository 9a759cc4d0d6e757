# Tests of hexz-log.
LOG_TESTS = \
	test-log.sh
TESTS += $(LOG_TESTS)
EXTRA_DIST += $(LOG_TESTS)
