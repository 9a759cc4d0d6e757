# Unit tests of the core libraries, and tests of hexz-pack and hexz-info.

UNIT_TESTS = \
	unit-format \
	unit-fuzz \
	unit-paged \
	unit-roundtrip \
	unit-storage \
	unit-util
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

unit_format_SOURCES = unit-format.cpp unit-helpers.h
unit_fuzz_SOURCES = unit-fuzz.cpp unit-helpers.h
unit_paged_SOURCES = unit-paged.cpp unit-helpers.h
unit_roundtrip_SOURCES = unit-roundtrip.cpp unit-helpers.h
unit_storage_SOURCES = unit-storage.cpp unit-helpers.h
unit_util_SOURCES = unit-util.cpp

PACK_TESTS = \
	test-info-overlay.sh \
	test-pack-corrupt.sh \
	test-pack-formats.sh \
	test-pack-sources.sh \
	test-pack-tools.sh \
	test-tools-completion.sh \
	test-tools-man.sh \
	test-tools-outputs.sh \
	test-tools-stale-temps.sh
TESTS += $(PACK_TESTS)
EXTRA_DIST += $(PACK_TESTS)
