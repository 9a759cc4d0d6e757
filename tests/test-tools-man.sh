#!/usr/bin/env bash
# Man pages keep non-ASCII text: every POD in the tree declares
# "=encoding utf8", and the build's man page rule (common.mk) turns UTF-8
# into UTF-8, not into "X" (pod2man without --utf8) or groff escapes.
source "$srcdir/functions.sh"
requires pod2man

top=$srcdir/..
pods=$(cd "$top" && find . -name '*.pod' -not -path './build*' -not -path './.git/*' | sort)
[ -n "$pods" ] || fail "no POD found under $top"
for p in $pods; do
  first=$(grep -m1 '^=' "$top/$p")
  [ "$first" = "=encoding utf8" ] || fail "$p: the first directive is '$first', not '=encoding utf8'"
done

# A POD with non-ASCII text, through the rule that makes every man page
# (the Makefile of a tool directory includes common.mk).
cat > "$tmp/enc.pod" <<'POD'
=encoding utf8

=head1 NAME

enc - Grüße → “quotes” — naïve

=head1 DESCRIPTION

Ünïcödé: µs, ±1, 2×, ≥ 4 KiB, ‘a’.
POD
make -s -C ../tools/info "$tmp/enc.1" > "$tmp/make.out" 2>&1 || fail "the man page rule failed: $(cat "$tmp/make.out")"
for s in 'Grüße → “quotes” — naïve' 'Ünïcödé: µs, ±1, 2×, ≥ 4 KiB, ‘a’.'; do
  grep -qF -- "$s" "$tmp/enc.1" || fail "the man page lost '$s': $(grep -a -A3 NAME "$tmp/enc.1")"
done
# And so do the project's own pages: each one built is the rule's output
# for its POD, with nothing replaced by "X" where the POD has non-ASCII.
for p in $pods; do
  man=../${p%.pod}.1
  [ -f "$man" ] || continue
  want=$(grep -P '[^\x00-\x7F]' "$top/$p" | grep -oP '[^\x00-\x7F]+' | head -1 || true)
  [ -z "$want" ] || grep -qF -- "$want" "$man" || fail "$man lost '$want'"
done
exit 0
