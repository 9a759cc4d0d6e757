# hexz-diff build rules.  Overlay mode (hexz-diff.cpp, diff-files.cpp) and,
# when it lands, image mode (image-diff*.cpp) form one program.  Only this
# tool links the filesystem layer (libext2fs, libtsk).
bin_PROGRAMS += hexz-diff

hexz_diff_SOURCES = hexz-diff.cpp diff-files.cpp diff-files.h json.cpp json.h options.cpp options.h
hexz_diff_CPPFLAGS = $(AM_CPPFLAGS) $(LIBNBD_CFLAGS)
hexz_diff_LDADD = $(top_builddir)/common/libhexzfs.la $(TOOL_LIBS) -lpthread

man_MANS += hexz-diff.1
EXTRA_DIST += hexz-diff.pod
