# hexz-pack and hexz-info.
bin_PROGRAMS += hexz-pack hexz-info

hexz_pack_SOURCES = hexz-pack.cpp options.cpp options.h progress.cpp progress.h
hexz_pack_CPPFLAGS = $(AM_CPPFLAGS) $(LIBNBD_CFLAGS)
hexz_pack_LDADD = $(TOOL_LIBS)

hexz_info_SOURCES = hexz-info.cpp json.cpp json.h options.cpp options.h
hexz_info_CPPFLAGS = $(AM_CPPFLAGS)
hexz_info_LDADD = $(TOOL_LIBS)

man_MANS += hexz-pack.1 hexz-info.1
EXTRA_DIST += hexz-pack.pod hexz-info.pod
