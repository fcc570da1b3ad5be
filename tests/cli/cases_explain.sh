# Sourced by cli_test.sh: `smx explain OP`, the same code path as `smx OP --explain`, for every op
# it knows; the explainers of entropy, sigmoid, log-sigmoid and softplus; --markdown.

# The printed smx result of an explanation: the numbers after "smx:" up to the verdict.
explained_result() {
  python3 -c '
import re, sys
text = sys.argv[1]
block = text.split("smx:", 1)[1].split("The textbook", 1)[0]
print(" ".join(re.findall(r"-?(?:inf|nan|[0-9][0-9.e+-]*)", block.replace("`", ""))))
' "$1"
}

# explain_matches NAME OP ARGS...: `smx explain OP ARGS` prints exactly what `smx OP --explain ARGS`
# prints, agrees with the library, and its smx result is what `smx OP ARGS` prints.
explain_matches() {
  local name=$1 op=$2
  shift 2
  run "$op" --explain "$@"
  local direct=$out direct_rc=$rc
  run explain "$op" "$@"
  check "$name: smx explain exits 0" [ "$rc" = 0 ]
  check "$name: smx explain = $op --explain" [ "$out" = "$direct" -a "$direct_rc" = "$rc" ]
  check "$name: agrees with smx" grep -q "The textbook result matches smx" <<<"$out"
  local shown
  shown=$(explained_result "$out")
  run "$op" "$@"
  check "$name: its smx result is smx $op's" holds "$shown" close 0 $out
}

explain_matches "explain softmax" softmax 2 1 0.5
explain_matches "explain softmax T" softmax -T 0.5 3 1 0
explain_matches "explain log-softmax" log-softmax 1 2 3
explain_matches "explain logsumexp" logsumexp 1000 1001 1002
explain_matches "explain entropy" entropy 5 0 -5
explain_matches "explain entropy T" entropy -T 2 5 0 -5
explain_matches "explain entropy T=0" entropy -T 0 2 2 1
explain_matches "explain entropy T=inf" entropy -T inf 2 -inf 1
explain_matches "explain entropy masked" entropy -- -inf -inf
explain_matches "explain entropy nan" entropy nan 1
explain_matches "explain entropy confident" entropy -- 40 0 -3
explain_matches "explain sigmoid" sigmoid -- -1000 -3 0 3 40 inf -inf nan
explain_matches "explain log-sigmoid" log-sigmoid -- -100 -1 0 40
explain_matches "explain softplus" softplus -- -100 -1 0 40 800
explain_matches "explain sigmoid f32" sigmoid --dtype f32 -- -3 0.5 20

# The numbers a learner checks by hand.
expect_contains "entropy of [5,0,-5]" "= 0.0406741" explain entropy 5 0 -5
expect_contains "entropy of [2,2,2]" "textbook: 1.0986122886681" explain entropy 2 2 2
expect_contains "entropy's limits" "(log c, H, log n) = [0.693147, 0.885382, 1.09861]" \
  explain entropy 2 2 -inf 0
expect_contains "entropy: T raises H" "= 0.304511" explain entropy -T 2 5 0 -5
expect_contains "log-sigmoid keeps the tiny value" "-4.24835e-18" explain log-sigmoid 40
expect_contains "sigmoid is 2-class softmax" "softmax([x, 0])_1" explain sigmoid 1
# The explained row of an elementwise op is the first row as printed (the last axis).
feed "1 2 3\n4 5 6\n"
expect_contains "sigmoid explains a row" "x = [1, 2, 3]" explain sigmoid -i -

# The confident row: H = 1.2e-16, which -Σ p log p would lose.
run explain entropy -- 40 0
check "confident entropy agrees" [ "$rc" = 0 ]
check "confident entropy is tiny and exact" holds "$(explained_result "$out")" close 1e-12 \
  1.7418252446695515e-16

# --markdown: a numbered list, formulas as code, the same verdict.
run explain softmax --markdown 2 1 0.5
check "markdown exits 0" [ "$rc" = 0 ]
check "markdown heading in bold" grep -q '^\*\*softmax of one row of 3 values' <<<"$out"
check "markdown steps as a list" grep -q '^3\. \*\*Subtract it from every entry\*\*: `s_i = z_i - m = \[0, -1, -1.5\]`' <<<"$out"
check "markdown why" grep -q '^   \*Why:\* This is what keeps' <<<"$out"
check "markdown result" grep -q '^- smx: `\[0.6285317192117624, ' <<<"$out"
check "markdown verdict" grep -q "The textbook result matches smx" <<<"$out"
run softmax --explain --markdown 2 1 0.5
markdown_direct=$out
run explain softmax --markdown 2 1 0.5
check "markdown: explain = --explain" [ "$out" = "$markdown_direct" ]
feed "1 2\n3 4\n"
run explain log-softmax --markdown -i -
check "markdown note on rows" grep -q "^The input holds 2 rows of 2 values (along axis 1); this explains the first.$" <<<"$out"

# Every line of a terminal explanation fits in 80 columns, for every explainer.
for op_args in "softmax -T 0.5 3 1 0" "entropy 5 0 -5" "entropy -T 0 1 1" "sigmoid -3 0 3" \
  "log-sigmoid -100 40" "softplus -1 800" "jacobian 1 0 -1" "logsumexp 1 2 3"; do
  read -r -a words <<<"$op_args"
  run explain "${words[@]}"
  check "explain ${words[0]} fits in 80 columns" python3 -c '
import sys
assert max(len(line) for line in sys.argv[1].splitlines()) <= 80
' "$out"
done

expect_contains "explain --help" "smx explain OP" explain --help
expect_contains "help explain" "--markdown" help explain
expect_contains "explain in usage" "smx explain OP" help
expect_contains "op --help names explain" "smx explain entropy" entropy --help
expect_error "explain without op" 2 "explain needs an op" explain
expect_error "explain of an unknown op" 2 "smx explain has no op 'softmaxx'" explain softmaxx 1 2
expect_error "explain attention (not yet)" 2 "smx explain has no op 'attention'" explain attention
expect_error "markdown needs explain" 2 "--markdown formats the steps of --explain" softmax --markdown 1 2
expect_error "explain: the op's own errors" 2 "invalid temperature" explain softmax -T -1 1 2
expect_error "explain: logsumexp's own errors" 2 "logsumexp takes no temperature" explain logsumexp -T 2 1 2
