#!/usr/bin/env bash
# Tests of the smx command-line tool: printed values, .csv and .npy round trips, --explain, the
# golden cases through the tool, and every kind of bad input (one clear message, exit code 1 or 2,
# no output file left behind).
#
#   tests/cli/cli_test.sh path/to/smx [golden_dir]
#
# Needs bash and python3 (standard library only). Ends with "N passed, M failed"; exits 1 if M > 0.
set -u

smx=${1:?usage: cli_test.sh path/to/smx [golden_dir]}
golden=${SMX_GOLDEN_DIR:-${2:-}}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
outdir=$work/out  # where -o writes; bad input must leave nothing here
mkdir -p "$outdir"

# npy ARGS...: the .npy and number helper (see npy_util.py).
npy() { python3 "$here/npy_util.py" "$@"; }
# holds TEXT ARGS...: feeds TEXT to `npy ARGS...` (close, shortest); succeeds if that does.
holds() {
  local text=$1
  shift
  printf '%s' "$text" | npy "$@"
}

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
  failed=$((failed + 1))
  printf 'FAIL: %s\n' "$*"
}

# run ARGS...: runs smx; sets $out (stdout), $err (stderr) and $rc. Stdin is /dev/null unless
# `feed TEXT` came just before.
stdin_file=/dev/null
feed() {
  printf '%b' "$1" >"$work/stdin"
  stdin_file=$work/stdin
}
run() {
  "$smx" "$@" <"$stdin_file" >"$work/stdout" 2>"$work/stderr"
  rc=$?
  stdin_file=/dev/null
  out=$(cat "$work/stdout")
  err=$(cat "$work/stderr")
}

# expect_values NAME TOLERANCE "EXPECTED VALUES" ARGS...: exit 0 and the printed numbers are close
# (relative tolerance; nan, inf and -inf must match exactly).
expect_values() {
  local name=$1 tolerance=$2 message expected
  read -r -a expected <<<"$3"
  shift 3
  run "$@"
  if ((rc != 0)); then
    fail "$name: exit $rc: $err"
  elif message=$(holds "$out" close "$tolerance" "${expected[@]}"); then
    pass
  else
    fail "$name: $message"
  fi
}

# expect_output NAME "EXACT OUTPUT" ARGS...
expect_output() {
  local name=$1 want=$2
  shift 2
  run "$@"
  if ((rc == 0)) && [[ $out == "$want" ]]; then pass; else fail "$name: exit $rc, got '$out' want '$want' $err"; fi
}

# expect_contains NAME TEXT ARGS...: exit 0 and stdout contains TEXT.
expect_contains() {
  local name=$1 text=$2
  shift 2
  run "$@"
  if ((rc == 0)) && [[ $out == *"$text"* ]]; then pass; else fail "$name: exit $rc, no '$text' in: ${out:0:300} $err"; fi
}

# check NAME COMMAND...: passes if the command succeeds.
check() {
  local name=$1
  shift
  if "$@"; then pass; else fail "$name"; fi
}

# expect_error NAME EXIT_CODE TEXT ARGS...: the exit code, one line on stderr that starts with
# "smx: error:" and contains TEXT (any case), nothing on stdout, and no file left in $outdir.
expect_error() {
  local name=$1 want_rc=$2 text=$3
  shift 3
  run "$@"
  local lines leftovers
  lines=$(printf '%s\n' "$err" | wc -l)
  leftovers=$(find "$outdir" -name 'result*' -o -name '*smx-tmp*' | head -3)
  if ((rc != want_rc)); then
    fail "$name: exit $rc, want $want_rc (stderr: $err)"
  elif [[ $err != "smx: error: "* ]] || ((lines != 1)); then
    fail "$name: stderr is not one 'smx: error:' line: $err"
  elif [[ ${err,,} != *"${text,,}"* ]]; then
    fail "$name: stderr lacks '$text': $err"
  elif [[ -n $out ]]; then
    fail "$name: printed to stdout: ${out:0:200}"
  elif [[ -n $leftovers ]]; then
    fail "$name: left files behind: $leftovers"
    rm -f "$outdir"/result* "$outdir"/*smx-tmp*
  else
    pass
  fi
}

source "$here/cases_output.sh"
source "$here/cases_files.sh"
source "$here/cases_bad_input.sh"
source "$here/cases_losses.sh"
source "$here/cases_attention.sh"
source "$here/cases_sample.sh"
source "$here/cases_plot.sh"
source "$here/cases_demo.sh"
source "$here/cases_explain.sh"

if [[ -n $golden && -f $golden/public.jsonl ]]; then
  summary=$(python3 "$here/golden_cli.py" "$smx" "$golden" "$work" 2>&1)
  printf '%s\n' "$summary" | grep '^FAIL' || true
  last=$(printf '%s\n' "$summary" | tail -n 1)
  if [[ $last =~ ^golden:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
  else
    fail "golden cases did not run: $summary"
  fi
else
  echo "note: no golden dir given (or no public.jsonl in it); golden cases not run"
fi

echo "$passed passed, $failed failed"
((failed == 0))
