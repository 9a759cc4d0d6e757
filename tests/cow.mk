# Tests of cow.
