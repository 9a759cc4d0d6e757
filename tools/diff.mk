# hexz-diff build rules.
