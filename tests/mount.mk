# Tests of mount.
