# Settings shared by every Makefile.am (included with "include $(top_srcdir)/common.mk").

# Everything may include the snapshot-reading core (common/snapshot/).  Code
# that also writes snapshots or speaks NBD adds $(WRITE_CPPFLAGS); code that
# parses guest filesystems adds $(FS_CPPFLAGS).
AM_CPPFLAGS = -I$(top_srcdir)/common/snapshot -I$(top_builddir)
WRITE_CPPFLAGS = -I$(top_srcdir)/common/write $(LIBNBD_CFLAGS)
FS_CPPFLAGS = -I$(top_srcdir)/common
AM_CXXFLAGS = -std=c++20 $(WARN_CFLAGS) $(SANITIZER_FLAGS)
AM_CFLAGS = $(WARN_CFLAGS) $(SANITIZER_FLAGS)
AM_LDFLAGS = $(SANITIZER_FLAGS)

# The core libraries, by who links them (see common/Makefile.am).
SNAPSHOT_LIBS = $(top_builddir)/common/libhexzsnapshot.la
WRITE_LIBS = $(top_builddir)/common/libhexzwrite.la $(SNAPSHOT_LIBS)
FS_LIBS = $(top_builddir)/common/libhexzfs.la

# Man pages are written in POD beside the code, as nbdkit does.  Every POD
# starts with "=encoding utf8"; --utf8 keeps its non-ASCII characters in the
# man page (without it, pod2man 4.x writes "X" for each of them).
POD2MAN_FLAGS = --utf8 --center="hexz" --release="hexz $(VERSION)" --section=1
%.1: %.pod
	$(AM_V_GEN)$(POD2MAN) $(POD2MAN_FLAGS) --name="$(basename $(notdir $@))" $< > $@.tmp && mv $@.tmp $@
