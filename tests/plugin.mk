# Tests of plugin.
