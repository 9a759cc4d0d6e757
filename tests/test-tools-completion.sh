#!/usr/bin/env bash
# Bash completion (tools/completion/hexz.bash): every tool built has a
# completion, which offers every long option its --help lists, the values of
# options with a fixed set of them (--output=, -c, -O, --checksum=), file
# names for file arguments and positional ones, nothing for numbers; and
# make install puts it under the completions directory once per tool.
source "$srcdir/functions.sh"
requires bash

comp=$srcdir/../tools/completion/hexz.bash
# Every tool this build made (the directories ./run puts on PATH).
tools=$(for d in ${PATH//:/ }; do
  case $d in */tools/*) find "$d" -maxdepth 1 -type f -executable -name 'hexz-*' -printf '%f\n' ;; esac
done | sort -u)
[ "$(echo "$tools" | wc -l)" -ge 7 ] || fail "too few tools found: $tools"

mkdir -p "$tmp/dir/sub"
: > "$tmp/dir/vm.st"
: > "$tmp/dir/vm.overlay"
: > "$tmp/dir/other.img"

# complete WORD...: what completing the last WORD offers, one per line,
# sorted (the line as readline splits it: "--opt=x" is "--opt" "=" "x").
complete_words() {
  bash -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    f=$(complete -p "$1" 2>/dev/null | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
    [ -n "$f" ] || { echo "no completion for $1" >&2; exit 1; }
    "$f" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}"' bash "$comp" "$@" | sort
}
# offers WANT WORD...: the completion of WORD... is exactly WANT (words).
offers() {
  local want=$1 got
  shift
  got=$(complete_words "$@" | xargs)
  [ "$got" = "$(printf '%s\n' $want | sort | xargs)" ] || fail "completing '$*': got '$got', want '$want'"
}

for t in $tools; do
  # Every long option of --help.
  got=$(complete_words "$t" --) || fail "$t has no completion"
  # (the option column of --help: lines starting with "-", up to the
  # description, which begins after two spaces)
  for o in $("$t" --help | sed -nE 's/^[[:space:]]+(-.*)$/\1/p' | sed -E 's/  .*//' |
    grep -oE -- '--[a-z][-a-z0-9]*' | sort -u); do
    grep -qx -- "$o" <<< "$got" || fail "$t: '--' does not offer $o (offers: $(echo $got))"
  done
  # A positional argument: file names.
  offers "$tmp/dir/vm.overlay $tmp/dir/vm.st" "$t" "$tmp/dir/vm"
done

# Values.
offers "human json" hexz-info --output =
offers "json" hexz-info --output = j
offers "--output=human --output=json" hexz-info --output=
offers "lz4 zstd none" hexz-pack -c ""
offers "lz4 zstd none" hexz-commit --compression = ""
offers "overlay st" hexz-diff -O ""
offers "md5 sha256" hexz-diff --checksum = ""
offers "json" hexz-log --output = ""
# File arguments, separate or after "=", short or long.
offers "$tmp/dir/vm.st" hexz-commit --base "$tmp/dir/vm.s"
offers "$tmp/dir/vm.st" hexz-commit --base = "$tmp/dir/vm.s"
offers "$tmp/dir/other.img" hexz-pack --memory "$tmp/dir/o"
offers "$tmp/dir/sub" hexz-mount "$tmp/dir/vm.st" "$tmp/dir/s"
offers "$tmp/dir/vm.overlay" hexz-mount --rw --overlay "$tmp/dir/vm.o"
# Numbers: nothing to offer.
offers "" hexz-unmount -t ""
offers "" hexz-pack --threads = ""
# An option that takes no argument is followed by file names.
offers "$tmp/dir/vm.st" hexz-info --json "$tmp/dir/vm.s"

# make install: a completion under each tool's name.
dest=$tmp/inst
make -s -C ../tools/completion install DESTDIR="$dest" > "$tmp/make.out" 2>&1 ||
  fail "make install failed: $(cat "$tmp/make.out")"
for t in $tools; do
  f=$(find "$dest" -name "$t" \( -type f -o -type l \) | head -1)
  [ -n "$f" ] || fail "make install put no completion for $t: $(find "$dest")"
  case $f in */bash-completion/completions/*) ;; *) fail "$t's completion is not in a completions directory: $f" ;; esac
  cmp "$f" "$comp" || fail "$f is not hexz.bash"
done
# ... whose "complete" line names every tool (bash-completion loads the file
# for one command; it must register that command).
for t in $tools; do
  bash -c 'source "$1"; complete -p "$2"' bash "$comp" "$t" > /dev/null || fail "hexz.bash does not register $t"
done
exit 0
