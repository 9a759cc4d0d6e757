# Tests of the hexz-cow filter (filters/hexz-cow).
COW_TESTS = \
	test-cow-errors.sh \
	test-cow-lock.sh \
	test-cow-model.sh \
	test-cow-persist.sh \
	test-cow-readonly-dir.sh \
	test-regular-files.sh
TESTS += $(COW_TESTS)
EXTRA_DIST += $(COW_TESTS) cow-model.py
