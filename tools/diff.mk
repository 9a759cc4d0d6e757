# hexz-diff build rules.  Overlay mode (hexz-diff.cpp, diff-files.cpp) and,
# when it lands, image mode (image-diff*.cpp) form one program.  Only this
# tool links the filesystem layer (libext2fs, libtsk).
bin_PROGRAMS += hexz-diff

hexz_diff_SOURCES = hexz-diff.cpp diff-files.cpp diff-files.h json.cpp json.h options.cpp options.h
hexz_diff_CPPFLAGS = $(AM_CPPFLAGS) $(LIBNBD_CFLAGS)
hexz_diff_LDADD = $(top_builddir)/common/libhexzfs.la $(TOOL_LIBS) -lpthread

man_MANS += hexz-diff.1
EXTRA_DIST += hexz-diff.pod

# Image mode (hexz-diff -b BASE MODIFIED ...), image-diff*.cpp: block diffs
# and file diffs of two whole disks.  --checksum uses libcrypto (libssl-dev).
hexz_diff_SOURCES += \
	image-diff.cpp image-diff.h \
	image-diff-compare.cpp image-diff-compare.h \
	image-diff-ext.cpp image-diff-ext.h \
	image-diff-files.cpp image-diff-files.h \
	image-diff-input.cpp image-diff-input.h \
	progress.cpp progress.h
hexz_diff_LDADD += $(CRYPTO_LIBS) $(COM_ERR_LIBS)
