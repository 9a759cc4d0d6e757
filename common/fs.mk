# Partition table and filesystem layer (owned by the hexz-diff work).
# A second convenience library, so that only the tools that resolve files
# link libext2fs and libtsk; the nbdkit plugin and filter link libhexzcore
# alone.
noinst_LTLIBRARIES += libhexzfs.la

libhexzfs_la_SOURCES = \
	fs/backend.h \
	fs/chunk_cache.cpp fs/chunk_cache.h \
	fs/ext.cpp fs/ext.h \
	fs/fsmap.cpp fs/fsmap.h \
	fs/partition.cpp fs/partition.h \
	fs/probe.cpp fs/probe.h \
	fs/tsk.cpp
libhexzfs_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/fs $(EXT2FS_CFLAGS) $(TSK_CFLAGS)
libhexzfs_la_LIBADD = $(EXT2FS_LIBS) $(COM_ERR_LIBS) $(TSK_LIBS)
