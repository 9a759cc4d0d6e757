// Image mode of hexz-diff: "hexz-diff -b BASE MODIFIED OUTPUT" writes the
// blocks of MODIFIED that differ from BASE as a hexz overlay (or a thin .st),
// and "hexz-diff --files -b BASE MODIFIED" lists the files that differ, in
// virt-diff's format.  hexz-diff's main() hands its whole argument vector
// over when it contains -b or -O.
#pragma once

int image_diff_main(int argc, char **argv);

// --parser-timeout SECONDS (both modes): 1 to 86400, else a usage error.
unsigned parse_parser_timeout(const char *program, const char *arg);

// Prints the image mode's part of hexz-diff --help.
void image_diff_help();
