#!/usr/bin/env bash
source "$srcdir/functions.sh"
exit 0
