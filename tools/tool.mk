# Included by every tool's Makefile.am, after common.mk: the shared CLI
# helpers (tools/common/) and the core libraries every tool links.
AM_CPPFLAGS += -I$(top_srcdir)/tools/common $(WRITE_CPPFLAGS)
TOOL_LIBS = $(top_builddir)/tools/common/libhexztool.la $(WRITE_LIBS) $(LIBNBD_LIBS)
