# bash completion for the hexz tools.  Installed into bash-completion's
# completionsdir once per tool name (bash-completion loads a command's file
# on first use); it can also be sourced directly.
#
# The options come from each tool's own --help, read once per shell, so
# that they never drift from the program: every token "-x" or "--name" at
# the start of a help line is an option; one followed by "=SPEC", "[=SPEC]"
# or " SPEC" (SPEC in capitals, or "a|b" choices) takes an argument.  SPEC
# decides what the argument completes to: the choices "a|b" (or the one
# choice after "=", as in "--output=json"), the values
# below for METHOD and ALG, nothing for numbers, sizes and text, file names
# otherwise.  Positional arguments complete to file names.

# Option values the help text names but does not list.
declare -gA _hexz_values=(
  [METHOD]="lz4 zstd none"
  [ALG]="md5 sha256"
  [hexz-diff:-O]="overlay st"
)
# Specs whose argument is not a file name.
_hexz_no_files=" N SIZE SECONDS TEXT LEVEL ID "

# _hexz_parse TOOL: reads TOOL --help once into the caches: the list of
# TOOL's options, and each option's SPEC ("" = takes no argument).
declare -gA _hexz_optlist _hexz_spec
_hexz_parse() {
  local tool=$1 line word spec rest opts="" w
  [[ -n ${_hexz_optlist[$tool]+set} ]] && return
  while IFS= read -r line; do
    [[ $line =~ ^[[:space:]]+- ]] || continue
    line=${line#"${line%%[![:space:]]*}"}
    # Option tokens at the start of the line, separated by ", ".  A short
    # option takes the SPEC of the long one beside it ("-o, --output=FILE");
    # a long one has its own ("--json, --output=json").
    local -a words=() specs=()
    local line_spec=
    while [[ $line =~ ^(--?[A-Za-z0-9][-A-Za-z0-9]*)(\[?=([^][:space:],]+)\]?)?(.*)$ ]]; do
      word=${BASH_REMATCH[1]} spec=${BASH_REMATCH[3]} rest=${BASH_REMATCH[4]}
      if [[ -z $spec && $rest =~ ^\ ([A-Z][A-Z0-9_]*|[a-z0-9]+(\|[a-z0-9]+)+)(\ |$) ]]; then
        spec=${BASH_REMATCH[1]}
      fi
      [[ -n $spec ]] && line_spec=$spec
      words+=("$word") specs+=("$spec")
      [[ " $opts " == *" $word "* ]] || opts+=" $word"
      [[ $rest =~ ^,\ (.*)$ ]] || break
      line=${BASH_REMATCH[1]}
    done
    for w in "${!words[@]}"; do
      word=${words[w]} spec=${specs[w]}
      [[ $word != --* && -z $spec ]] && spec=$line_spec
      # An option listed twice (--output=json, then --output alone) keeps
      # the SPEC it had.
      [[ -n ${_hexz_spec[$tool:$word]} && -z $spec ]] || _hexz_spec[$tool:$word]=$spec
    done
  done < <("$tool" --help 2>/dev/null)
  _hexz_optlist[$tool]=$opts
}

# _hexz_value TOOL OPTION CUR: COMPREPLY for OPTION's argument.
_hexz_value() {
  local tool=$1 opt=$2 cur=$3 spec=${_hexz_spec[$1:$2]} values=
  if [[ -n ${_hexz_values[$tool:$opt]+set} ]]; then
    values=${_hexz_values[$tool:$opt]}
  elif [[ $spec =~ ^[a-z0-9|]+$ ]]; then  # "human|json", or the one choice "json"
    values=${spec//|/ }
  elif [[ -n ${_hexz_values[$spec]+set} ]]; then
    values=${_hexz_values[$spec]}
  elif [[ $_hexz_no_files == *" $spec "* ]]; then
    COMPREPLY=()
    return
  else
    _hexz_files "$cur"
    return
  fi
  mapfile -t COMPREPLY < <(compgen -W "$values" -- "$cur")
}

# _hexz_files CUR: file names (directories marked as such for readline).
_hexz_files() {
  compopt -o filenames 2>/dev/null
  mapfile -t COMPREPLY < <(compgen -f -- "$1")
}

# _hexz_takes_arg TOOL OPTION: whether OPTION takes an argument.
_hexz_takes_arg() {
  [[ -n ${_hexz_spec[$1:$2]} || -n ${_hexz_values[$1:$2]+set} ]]
}

_hexz_complete() {
  local tool=${COMP_WORDS[0]##*/} cword=$COMP_CWORD
  local cur=${COMP_WORDS[cword]} prev=${COMP_WORDS[cword - 1]:-}
  _hexz_parse "$tool"
  COMPREPLY=()
  # "--opt=VAL": readline splits at "=" (COMP_WORDBREAKS), so the words are
  # "--opt" "=" "VAL", or "--opt" "=" with the cursor just after the "=".
  if [[ $cur == "=" && $prev == -* ]]; then
    _hexz_value "$tool" "$prev" ""
    return
  fi
  if [[ $prev == "=" && $cword -ge 2 && ${COMP_WORDS[cword - 2]} == -* ]]; then
    _hexz_value "$tool" "${COMP_WORDS[cword - 2]}" "$cur"
    return
  fi
  if [[ $cur == --*=* ]]; then  # COMP_WORDBREAKS without "="
    local opt=${cur%%=*}
    _hexz_value "$tool" "$opt" "${cur#*=}"
    COMPREPLY=("${COMPREPLY[@]/#/$opt=}")
    return
  fi
  if [[ $prev == -* ]] && _hexz_takes_arg "$tool" "$prev"; then
    _hexz_value "$tool" "$prev" "$cur"
    return
  fi
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "${_hexz_optlist[$tool]}" -- "$cur")
    return
  fi
  _hexz_files "$cur"
}

complete -F _hexz_complete hexz-commit hexz-diff hexz-info hexz-log hexz-mount hexz-pack hexz-rebase hexz-unmount
