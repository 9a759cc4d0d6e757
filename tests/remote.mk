# Tests of snapshots behind URLs (common/snapshot/remote-*): real servers on
# loopback started by the tests (nginx, plain and TLS; an S3 API server).

check_PROGRAMS += remote-get
remote_get_SOURCES = remote-get.cpp
remote_get_LDADD = $(SNAPSHOT_LIBS)

check_PROGRAMS += unit-remote
TESTS += unit-remote
unit_remote_SOURCES = unit-remote.cpp
unit_remote_CPPFLAGS = $(AM_CPPFLAGS) $(CRITERION_CFLAGS)
unit_remote_LDADD = $(SNAPSHOT_LIBS) $(CRITERION_LIBS)

REMOTE_TESTS = \
	test-remote-http.sh \
	test-remote-plugin.sh \
	test-remote-s3.sh \
	test-remote-tools.sh
TESTS += $(REMOTE_TESTS)
EXTRA_DIST += $(REMOTE_TESTS) remote-functions.sh s3-server.js
