# hexz-mount build rules.
