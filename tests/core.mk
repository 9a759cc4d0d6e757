# Unit tests of the core library and tests of hexz-pack/hexz-info.

UNIT_CPPFLAGS = $(AM_CPPFLAGS) $(CRITERION_CFLAGS)
UNIT_LIBS = $(top_builddir)/common/libhexzcore.la $(CRITERION_LIBS)

check_PROGRAMS += unit-roundtrip unit-format unit-util unit-fuzz
TESTS += unit-roundtrip unit-format unit-util unit-fuzz

unit_roundtrip_SOURCES = unit-roundtrip.cpp unit-helpers.h
unit_roundtrip_CPPFLAGS = $(UNIT_CPPFLAGS)
unit_roundtrip_LDADD = $(UNIT_LIBS)

unit_format_SOURCES = unit-format.cpp unit-helpers.h
unit_format_CPPFLAGS = $(UNIT_CPPFLAGS)
unit_format_LDADD = $(UNIT_LIBS)

unit_util_SOURCES = unit-util.cpp
unit_util_CPPFLAGS = $(UNIT_CPPFLAGS)
unit_util_LDADD = $(UNIT_LIBS)

unit_fuzz_SOURCES = unit-fuzz.cpp unit-helpers.h
unit_fuzz_CPPFLAGS = $(UNIT_CPPFLAGS)
unit_fuzz_LDADD = $(UNIT_LIBS)

TESTS += test-pack-tools.sh test-pack-sources.sh test-pack-corrupt.sh
EXTRA_DIST += test-pack-tools.sh test-pack-sources.sh test-pack-corrupt.sh
