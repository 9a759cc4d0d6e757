# Unit tests of the core library and tests of hexz-pack/hexz-info.
