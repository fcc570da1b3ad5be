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
explain_matches "explain jacobian" jacobian 1 0 -1
explain_matches "explain jacobian T" jacobian -T 2 3 1 0
explain_matches "explain log-softmax f32" log-softmax --dtype f32 -- 1 -2 30

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

# Every line of a terminal explanation fits in 80 columns, for every explainer (the file commands
# with the files of cases_attention.sh and cases_sample.sh).
for op_args in "softmax -T 0.5 3 1 0" "entropy 5 0 -5" "entropy -T 0 1 1" "sigmoid -3 0 3" \
  "log-sigmoid -100 40" "softplus -1 800" "jacobian 1 0 -1" "logsumexp 1 2 3" \
  "attention -q $work/at_q.npy -k $work/at_k.npy -v $work/at_v.npy --causal" \
  "sample -i $work/sp_z.npy --top-k 3 --top-p 0.8 --seed 4"; do
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
expect_error "markdown needs explain" 2 "--markdown formats the steps of --explain" softmax --markdown 1 2
expect_error "explain: the op's own errors" 2 "invalid temperature" explain softmax -T -1 1 2
expect_error "explain: logsumexp's own errors" 2 "logsumexp takes no temperature" explain logsumexp -T 2 1 2

# attention: query 0 of head 0, its scores, the online softmax block by block, checked against the
# library's first output row (the files of cases_attention.sh: scores [1, 0, 1] at scale 1).
# attention_explains NAME attention ARGS...: smx explain attention ARGS = attention --explain ARGS,
# it agrees, and its smx result is the first row smx attention prints.
attention_explains() {
  local name=$1
  shift 2  # the name, and "attention" that begins the command
  run attention --explain "$@"
  local direct=$out
  run explain attention "$@"
  check "$name: exits 0" [ "$rc" = 0 ]
  check "$name: smx explain = attention --explain" [ "$out" = "$direct" ]
  check "$name: agrees with smx" grep -q "The textbook result matches smx" <<<"$out"
  local shown
  shown=$(explained_result "$out")
  run attention "$@"
  # shellcheck disable=SC2046  # the row's numbers, one argument each
  check "$name: its smx result is the first row" holds "$shown" close 0 $(head -1 <<<"$out")
}
attention_explains "explain attention" "${at[@]}"
attention_explains "explain attention, default scale" attention -q "$work/at_q.npy" \
  -k "$work/at_k.npy" -v "$work/at_v.npy"
attention_explains "explain attention causal" "${at[@]}" --causal
attention_explains "explain attention lower-right" "${at[@]}" --causal --causal-alignment lower_right
attention_explains "explain attention bool mask" "${at[@]}" --mask "$work/at_mask.npy"
npy write "$work/ex_add.npy" f8 2x3 0.5 -inf -1 0 0 0
npy write "$work/ex_vnan.npy" f8 3x1 1 nan 3
attention_explains "explain attention additive mask" "${at[@]}" --mask "$work/ex_add.npy"
# An additive -inf leaves key 1 out, NaN value and all.
attention_explains "explain attention additive -inf" "${at[@]/at_v.npy/ex_vnan.npy}" \
  --mask "$work/ex_add.npy"
npy write "$work/ex_bcast.npy" f8 1 -0.5
attention_explains "explain attention broadcast mask" "${at[@]}" --mask "$work/ex_bcast.npy"
attention_explains "explain attention softcap" "${at[@]}" --softcap 0.5
npy write "$work/ex_q3.npy" f8 1x2x2 1 0 0 1
npy write "$work/ex_k3.npy" f8 1x3x2 1 0 0 1 1 1
npy write "$work/ex_v3.npy" f8 1x3x2 1 -1 2 -2 3 -3
npy write "$work/ex_slope.npy" f8 1 0.75
npy write "$work/ex_sink.npy" f8 1 2.5
at3=(attention -q "$work/ex_q3.npy" -k "$work/ex_k3.npy" -v "$work/ex_v3.npy")
attention_explains "explain attention alibi" "${at3[@]}" --alibi-slopes "$work/ex_slope.npy"
attention_explains "explain attention sink" "${at3[@]}" --sinks "$work/ex_sink.npy"
npy write "$work/ex_k32.npy" f4 3x2 1 0 0 1 1 1
npy write "$work/ex_v32.npy" f4 3x1 1 2 3
attention_explains "explain attention f32" attention -q "$work/at_q32.npy" -k "$work/ex_k32.npy" \
  -v "$work/ex_v32.npy"
attention_explains "explain attention nan value" "${at[@]/at_v.npy/ex_vnan.npy}"
# The NaN sits in key 1, which a causal row 0 never reads: its output stays finite.
attention_explains "explain attention nan value left out" "${at[@]/at_v.npy/ex_vnan.npy}" --causal
python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import npy_util
open(sys.argv[2], "wb").write(npy_util.npy_bytes("u1", [2, 3], [0, 0, 0, 1, 1, 1], descr="|b1"))' \
  "$here" "$work/ex_none.npy"
attention_explains "explain attention no key left" "${at[@]}" --mask "$work/ex_none.npy"
expect_contains "attention: no key gives 0" "out = o / l = [0]" explain "${at[@]}" \
  --mask "$work/ex_none.npy"
# Hand values: scores [1, 0, 1] (e, 1, e over 2e + 1) give out (e + 2 + 3e)/(2e + 1) = 2.
expect_contains "attention scores" "s_j = scale (q · k_j), scale = 1 = [1, 0, 1]" explain "${at[@]}"
expect_contains "attention online check" "Σ_j p_j v_j = [2]" explain "${at[@]}"
expect_contains "attention causal left out" "a_j = [1, 0, 0]" explain "${at[@]}" --causal
expect_contains "attention markdown" '**Divide by the sum**: `out = o / l = [2]`' explain "${at[@]}" \
  --markdown
rm -f "$outdir/ex_att.npy"
run explain "${at[@]}" -o "$outdir/ex_att.npy"
check "attention --explain still writes -o" [ "$rc" = 0 -a -f "$outdir/ex_att.npy" ]
rm -f "$outdir/ex_att.npy"
expect_error "attention markdown needs explain" 2 "--markdown formats the steps" "${at[@]}" --markdown

# sample: row 0 through temperature and the filters, checked against smx::top_k_top_p_filter; the
# token drawn is the one smx sample prints (the logits of cases_sample.sh: row 0 is [1, 5, 5, 2]).
# sample_explains NAME ARGS...: smx explain sample ARGS = sample --explain ARGS, it agrees, and the
# token it says was drawn is smx sample's first.
sample_explains() {
  local name=$1
  shift
  run sample --explain "$@"
  local direct=$out
  run explain sample "$@"
  check "$name: exits 0" [ "$rc" = 0 ]
  check "$name: smx explain = sample --explain" [ "$out" = "$direct" ]
  check "$name: agrees with smx" grep -q "The textbook result matches smx" <<<"$out"
  local drawn
  drawn=$(sed -n 's/^drawn: token \([0-9]*\) .*/\1/p' <<<"$out")
  run sample "$@"
  check "$name: the token drawn is smx sample's" [ -n "$drawn" -a "$drawn" = "$(head -1 <<<"$out")" ]
}
sample_explains "explain sample" -i "$work/sp_z.npy" --seed 5
sample_explains "explain sample greedy" -i "$work/sp_z.npy" -T 0
sample_explains "explain sample top-k" -i "$work/sp_z.npy" --top-k 2 --seed 1
sample_explains "explain sample top-p" -i "$work/sp_z.npy" --top-p 0.7 -T 2 --seed 2
sample_explains "explain sample min-p" -i "$work/sp_z.npy" --min-p 0.2 --step 7
sample_explains "explain sample all filters" -i "$work/sp_z.npy" --top-k 3 --top-p 0.9 --min-p 0.1
sample_explains "explain sample f64 ties" -i "$work/sp_z64.npy" --top-k 3 --top-p 0.5
sample_explains "explain sample uniform" -i "$work/sp_z.npy" -T inf --top-p 0.6
# Ties at the top-k boundary go to the lower index: [1, 5, 5, 2] with k = 1 keeps token 1.
expect_contains "sample top-k by hand" "q_i = p_i / Σ_kept p = [0, 1, 0, 0]" explain sample \
  -i "$work/sp_z.npy" --top-k 1
expect_contains "sample top-k 2 by hand" "q_i = p_i / Σ_kept p = [0, 0.5, 0.5, 0]" explain sample \
  -i "$work/sp_z.npy" --top-k 2
expect_contains "sample says which row" "The logits hold 3 rows of 4 tokens" explain sample \
  -i "$work/sp_z.npy"
expect_contains "sample markdown" '**Order the tokens: the higher logit first, then the lower index**: `token ids = [1, 2, 3, 0]`' \
  explain sample -i "$work/sp_z.npy" --markdown
expect_error "sample markdown needs explain" 2 "--markdown formats the steps" sample \
  -i "$work/sp_z.npy" --markdown

# cross-entropy: the explanation's smx loss is the first sample's, as --reduction none prints it.
npy write "$work/ex_ce_z.npy" f8 2x3 2 1 0.5 -1 0 3
npy write "$work/ex_ce_t.npy" i8 2 0 2
run explain cross-entropy -i "$work/ex_ce_z.npy" --target "$work/ex_ce_t.npy"
check "explain cross-entropy exits 0" [ "$rc" = 0 ]
ce_shown=$(explained_result "$out")
run cross-entropy -i "$work/ex_ce_z.npy" --target "$work/ex_ce_t.npy" --reduction none
check "explain cross-entropy: its smx loss is the library's" [ "${ce_shown%% *}" = "$(head -1 <<<"$out")" ]
