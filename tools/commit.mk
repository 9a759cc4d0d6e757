# hexz-commit build rules.
