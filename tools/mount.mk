# hexz-mount and hexz-unmount.
bin_PROGRAMS += hexz-mount hexz-unmount

hexz_mount_SOURCES = hexz-mount.cpp mount-fuse.cpp mount-fuse.h mount-pool.cpp mount-pool.h \
	mount-nbd.cpp mount-nbd.h mount-log.cpp mount-log.h mount-spawn.cpp mount-spawn.h options.cpp options.h
hexz_mount_CPPFLAGS = $(AM_CPPFLAGS) $(LIBNBD_CFLAGS) $(FUSE3_CFLAGS)
hexz_mount_LDADD = $(TOOL_LIBS) $(LIBNBD_LIBS) $(FUSE3_LIBS) -lpthread

hexz_unmount_SOURCES = hexz-unmount.cpp mount-spawn.cpp mount-spawn.h options.cpp options.h
hexz_unmount_CPPFLAGS = $(AM_CPPFLAGS)
hexz_unmount_LDADD = $(TOOL_LIBS)

man_MANS += hexz-mount.1 hexz-unmount.1
EXTRA_DIST += hexz-mount.pod hexz-unmount.pod
