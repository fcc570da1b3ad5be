# shellcheck shell=bash
# shellcheck disable=SC2154  # $work, $outdir, $here, $out, $rc and the helpers come from cli_test.sh
# Sourced by cli_test.sh: smx sample on rows whose answer is fixed (greedy, ties, top-k 1, a
# single finite token), its files and --explain, reproducibility by seed, and its errors.

# Row 0 ties at 5 (greedy takes index 1); row 1's top token is 0; row 2 has one finite logit.
npy write "$work/sp_z.npy" f4 3x4 1 5 5 2 9 1 2 3 -inf -inf 4 -inf
npy write "$work/sp_z64.npy" f8 4 0 0 0 0
expect_output "sample greedy" $'1\n0\n2' sample -i "$work/sp_z.npy" -T 0
expect_output "sample top-k 1" $'1\n0\n2' sample -i "$work/sp_z.npy" --top-k 1 -T 5 --seed 9
expect_output "sample top-p tiny" $'1\n0\n2' sample -i "$work/sp_z.npy" --top-p 0.01 --seed 4
# Greedy log-probabilities: 0 filtered; unfiltered -log(number of maxima): -log 2, 0, 0.
lp=$(python3 -c "import math; print(repr(-math.log(2)))")
expect_values "sample greedy logprobs" 1e-12 "1 0 2 0 $lp 0 0 0 0" \
  sample -i "$work/sp_z.npy" -T 0 --logprobs -
# At T = 1 with top-k 1: filtered 0, unfiltered the log-softmax of the top token.
raw=$(python3 -c "import math; e = math.exp
print(repr(-math.log(2 + e(-4) + e(-3))), repr(-math.log(1 + e(-8) + e(-7) + e(-6))))")
expect_values "sample top-k 1 logprobs" 1e-6 "0 ${raw%% *} 0 ${raw##* } 0 0" sample -i "$work/sp_z.npy" --top-k 1 \
  --logprobs - -o "$outdir/sp_ignored.npy"
rm -f "$outdir/sp_ignored.npy"
# The same seed, the same tokens; 1-d logits give a 0-d .npy of int64.
run sample -i "$work/sp_z64.npy" --seed 77 --step 3
first=$out
run sample -i "$work/sp_z64.npy" --seed 77 --step 3
if [[ $out == "$first" && -n $first ]]; then pass; else fail "sample reproducible: '$first' then '$out'"; fi
rm -f "$outdir/sp_t.npy" "$outdir/sp_lp.csv"
run sample -i "$work/sp_z.npy" -T 0 -o "$outdir/sp_t.npy" --logprobs "$outdir/sp_lp.csv"
if ((rc != 0)) || [[ -n $out ]]; then
  fail "sample files: exit $rc, printed '${out:0:100}': $err"
elif [[ $(npy read "$outdir/sp_t.npy" | tr '\n' ' ') != "<i8 3 1 0 2 " ]]; then
  fail "sample -o: $(npy read "$outdir/sp_t.npy" | tr '\n' ' ')"
elif [[ $(wc -l <"$outdir/sp_lp.csv") != 3 ]]; then
  fail "sample --logprobs csv: $(cat "$outdir/sp_lp.csv")"
else
  pass
fi
rm -f "$outdir/sp_t.npy" "$outdir/sp_lp.csv"
expect_contains "sample explain" "2 of 4 tokens survive" sample -i "$work/sp_z.npy" --top-k 2 \
  --explain
expect_contains "sample explain drawn" "<- drawn" sample -i "$work/sp_z.npy" --top-p 0.5 --explain

expect_output "sample gumbel greedy" $'1\n0\n2' sample -i "$work/sp_z.npy" --gumbel -T 0
run sample -i "$work/sp_z.npy" --gumbel --seed 5
if ((rc == 0)) && [[ $(echo "$out" | tail -1) == 2 && $(echo "$out" | wc -l) == 3 ]]; then
  pass
else
  fail "sample --gumbel: exit $rc, '$out' $err"
fi

o=(-o "$outdir/result.npy")
expect_error "sample gumbel with top-p" 2 "--gumbel draws from softmax" sample \
  -i "$work/sp_z.npy" --gumbel --top-p 0.5 "${o[@]}"
expect_error "sample no input" 2 "no logits" sample "${o[@]}"
expect_error "sample bad top-p" 2 "invalid --top-p '0'" sample -i "$work/sp_z.npy" --top-p 0 "${o[@]}"
expect_error "sample bad min-p" 2 "invalid --min-p" sample -i "$work/sp_z.npy" --min-p 1.5 "${o[@]}"
expect_error "sample bad T" 2 "invalid -T '-1'" sample -i "$work/sp_z.npy" -T -1 "${o[@]}"
expect_error "sample bad top-k" 2 "invalid --top-k" sample -i "$work/sp_z.npy" --top-k -3 "${o[@]}"
expect_error "sample big step" 2 "invalid --step" sample -i "$work/sp_z.npy" --step 4294967296 "${o[@]}"
npy write "$work/sp_nan.npy" f4 2x2 1 2 nan 0
expect_error "sample NaN row" 1 "row 1 of the logits holds NaN" sample -i "$work/sp_nan.npy" "${o[@]}"
npy write "$work/sp_masked.npy" f4 2x2 1 2 -inf -inf
expect_error "sample masked row" 1 "row 1 of the logits has no finite logit" sample \
  -i "$work/sp_masked.npy" "${o[@]}"
npy write "$work/sp_3d.npy" f4 1x1x2 1 2
expect_error "sample rank 3" 1 "sample takes (V,) or (B, V)" sample -i "$work/sp_3d.npy" "${o[@]}"
