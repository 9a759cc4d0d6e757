# Tests of hexz-mount and hexz-unmount (FUSE; they skip without /dev/fuse).
MOUNT_TESTS = \
	test-mount-busy.sh \
	test-mount-ephemeral.sh \
	test-mount-errors.sh \
	test-mount-fuse2fs.sh \
	test-mount-refuse.sh \
	test-mount-ro.sh \
	test-mount-rw.sh
TESTS += $(MOUNT_TESTS)
EXTRA_DIST += $(MOUNT_TESTS) mount-functions.sh
