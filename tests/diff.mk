# Tests of diff.
EXTRA_DIST += diff-functions.sh
TESTS += test-diff-modes.sh
EXTRA_DIST += test-diff-modes.sh
TESTS += test-diff-ext4.sh
EXTRA_DIST += test-diff-ext4.sh
TESTS += test-diff-mbr.sh
EXTRA_DIST += test-diff-mbr.sh
TESTS += test-diff-malformed.sh
EXTRA_DIST += test-diff-malformed.sh
TESTS += test-diff-iso.sh
EXTRA_DIST += test-diff-iso.sh

# image diffs
TESTS += test-imagediff-blocks.sh test-imagediff-errors.sh test-imagediff-files.sh
EXTRA_DIST += test-imagediff-blocks.sh test-imagediff-errors.sh test-imagediff-files.sh
