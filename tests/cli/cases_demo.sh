# Sourced by cli_test.sh: `smx demo --practice`, the classic practice problems. Every problem and
# check is printed, every check holds, the output fits 80 columns, and the numbers it shows are the
# ones the other subcommands (smx softmax, jacobian, entropy) print, to the digits shown.

# practice_numbers TEXT PROBLEM WHAT [NTH]: the numbers shown in problem PROBLEM of TEXT after the
# NTH (default 1) occurrence of WHAT on a line; when WHAT ends in "= [", the whole matrix it opens
# (its first row and the indented rows under it).
practice_numbers() {
  python3 -c '
import re, sys
text, problem, what = sys.argv[1:4]
nth = int(sys.argv[4]) if len(sys.argv) > 4 else 1
section = text.split("Problem %s." % problem, 1)[1].split("\nProblem ", 1)[0]
lines = section.splitlines()
hits = [i for i, line in enumerate(lines) if what in line]
start = hits[nth - 1]
shown = [lines[start].split(what, 1)[1]]
if what.endswith("= ["):
    for line in lines[start + 1:]:
        if not line.strip().startswith("["):
            break
        shown.append(line)
print(" ".join(re.findall(r"-?[0-9]+\.[0-9]+(?:e[+-]?[0-9]+)?", " ".join(shown))))
' "$@"
}

# shown_as DECIMALS "SHOWN" "EXACT": each shown number is the exact one rounded to DECIMALS places.
shown_as() {
  python3 -c '
import sys
decimals, shown, exact = int(sys.argv[1]), sys.argv[2].split(), sys.argv[3].split()
want = ["%.*f" % (decimals, float(v)) for v in exact]
if not shown or shown != want:
    sys.exit("shown %s, want %s" % (shown, want))
' "$@"
}

run demo --practice
practice=$out
check "demo --practice exits 0" [ "$rc" = 0 ]
check "demo --practice writes nothing to stderr" [ -z "$err" ]
for problem in 1 2 3 4 5; do
  check "demo --practice states problem $problem" grep -q "^Problem $problem\. " <<<"$practice"
done
check "demo --practice: every check ok, counted in the summary" python3 -c '
import re, sys
lines = sys.argv[1].splitlines()
checks = [line for line in lines if re.search(r"\|diff\| \S+ [≤>] \S+  (ok|FAILED)$", line)]
ok = [line for line in checks if line.endswith("  ok")]
match = re.fullmatch(r"([0-9]+) of ([0-9]+) checks passed", lines[-1])
assert match and match[1] == match[2] == str(len(ok)) == str(len(checks)), (match, len(ok))
assert len(ok) >= 25 and "FAILED" not in sys.argv[1], len(ok)
' "$practice"
check "demo --practice fits in 80 columns" python3 -c '
import sys
assert max(len(line) for line in sys.argv[1].splitlines()) <= 80
' "$practice"
for text in "J_11 = p_1 (1 - p_1) = 0.665241 × 0.334759 = 0.222695" \
  "exp(1002) = inf, so p_1 = inf/inf = nan" "exp(-998) = 0, so p_1 = 0/0 = nan" \
  "smx::entropy: H = 1.0986122887" "smx::entropy: H = 0.0406741295" \
  "∂ŷ1/∂z1 = ŷ1 ŷ2 = 0.817574 × 0.182426 = 0.149146" "log 2 = 0.693147"; do
  check "demo --practice shows '$text'" grep -qF -- "$text" <<<"$practice"
done

# practice_shows NAME PROBLEM WHAT NTH DECIMALS SMX_ARGS...: the numbers after WHAT are what
# `smx SMX_ARGS` prints, rounded to DECIMALS places.
practice_shows() {
  local name=$1 problem=$2 what=$3 nth=$4 decimals=$5 shown message
  shift 5
  shown=$(practice_numbers "$practice" "$problem" "$what" "$nth")
  run "$@"
  if ((rc != 0)); then
    fail "$name: smx $*: exit $rc: $err"
  elif message=$(shown_as "$decimals" "$shown" "$out" 2>&1); then
    pass
  else
    fail "$name: $message"
  fi
}
practice_shows "practice 1: p is smx softmax's" 1 "p = softmax(z) =" 1 6 softmax 1 0 -1
practice_shows "practice 1: J is smx jacobian's" 1 "J = [" 1 6 jacobian 1 0 -1
practice_shows "practice 2: p is smx softmax's" 2 "softmax(z) = [" 1 6 softmax 2 1 0.5 -1
practice_shows "practice 3: J is smx jacobian's" 3 "J = [" 1 6 jacobian 1 -0.5
practice_shows "practice 3: ŷ is smx softmax's" 3 "ŷ = [" 1 6 softmax 1 -0.5
practice_shows "practice 4: H(2, 2, 2) is smx entropy's" 4 "smx::entropy: H =" 1 10 entropy 2 2 2
practice_shows "practice 4: H(5, 0, -5) is smx entropy's" 4 "smx::entropy: H =" 2 10 entropy 5 0 -5
practice_shows "practice 4: p is smx softmax's" 4 "[5, 0, -5]: p =" 1 6 softmax 5 0 -5
practice_shows "practice 4: T -> 0 is smx entropy -T 0's" 4 "log 2 =" 1 6 entropy -T 0 2 2 1
practice_shows "practice 5: the Hessian is smx jacobian's" 5 "∇²L = [" 1 6 jacobian 1 0 -1 0.5

expect_contains "demo --help documents --practice" "--practice" demo --help
expect_error "demo --practice takes no value" 2 "takes no value" demo --practice=yes
expect_error "demo: unknown option" 2 "unknown option '--practise'" demo --practise
expect_error "demo --practice takes no arguments" 2 "no arguments" demo --practice 3
