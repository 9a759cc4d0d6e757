# Settings shared by every Makefile.am (included with "include $(top_srcdir)/common.mk").

AM_CPPFLAGS = -I$(top_srcdir)/common -I$(top_builddir)
AM_CXXFLAGS = -std=c++20 $(WARN_CFLAGS) $(SANITIZER_FLAGS)
AM_CFLAGS = $(WARN_CFLAGS) $(SANITIZER_FLAGS)
AM_LDFLAGS = $(SANITIZER_FLAGS)

# Man pages are written in POD beside the code, as nbdkit does.
POD2MAN_FLAGS = --center="hexz" --release="hexz $(VERSION)" --section=1
%.1: %.pod
	$(AM_V_GEN)$(POD2MAN) $(POD2MAN_FLAGS) --name="$(basename $(notdir $@))" $< > $@.tmp && mv $@.tmp $@
