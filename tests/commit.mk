# Tests of commit.
