# hexz-commit build rules.
bin_PROGRAMS += hexz-commit

hexz_commit_SOURCES = hexz-commit.cpp commit-sources.cpp commit-sources.h \
	options.cpp options.h progress.cpp progress.h
hexz_commit_CPPFLAGS = $(AM_CPPFLAGS) $(LIBNBD_CFLAGS)
hexz_commit_LDADD = $(TOOL_LIBS)

man_MANS += hexz-commit.1
EXTRA_DIST += hexz-commit.pod
