# shellcheck shell=bash
# shellcheck disable=SC2154  # $work, $outdir, $here, $out, $rc and the helpers come from cli_test.sh
# Sourced by cli_test.sh: smx attention on values worked by hand, a boolean mask (a row left with
# no key prints zeros and lse -inf), and its errors. The golden attention cases run through
# golden_cli.py.

# q = [[1, 0], [0, 1]], k = [[1, 0], [0, 1], [1, 1]], v = [1, 2, 3], scale 1: scores [1, 0, 1] and
# [0, 1, 1], so out = (4e + 2)/(2e + 1) = 2 and (1 + 5e)/(2e + 1), lse = log(2e + 1) twice.
npy write "$work/at_q.npy" f8 2x2 1 0 0 1
npy write "$work/at_k.npy" f8 3x2 1 0 0 1 1 1
npy write "$work/at_v.npy" f8 3x1 1 2 3
npy write "$work/at_q32.npy" f4 2x2 1 0 0 1
at=(attention -q "$work/at_q.npy" -k "$work/at_k.npy" -v "$work/at_v.npy" --scale 1)
row1=$(python3 -c "import math; e = math.e; print(repr((1 + 5 * e) / (2 * e + 1)))")
lse=$(python3 -c "import math; print(repr(math.log(2 * math.e + 1)))")
expect_values "attention by hand" 1e-15 "2 $row1" "${at[@]}"
expect_values "attention lse printed" 1e-15 "2 $row1 $lse $lse" "${at[@]}" --lse -
# Causal, lower-right (Lq = 2, Lk = 3): row 0 attends keys 0 and 1: (e + 2)/(e + 1).
row0=$(python3 -c "import math; e = math.e; print(repr((e + 2) / (e + 1)))")
expect_values "attention causal lower-right" 1e-15 "$row0 $row1" "${at[@]}" --causal \
  --causal-alignment lower_right
# A boolean mask: row 0 attends keys 0 and 2 (scores 1 and 1: out 2, lse 1 + log 2), row 1
# nothing: 0, and lse -inf.
python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import npy_util
open(sys.argv[2], "wb").write(npy_util.npy_bytes("u1", [2, 3], [1, 0, 1, 0, 0, 0], descr="|b1"))' \
  "$here" "$work/at_mask.npy"
lse_masked=$(python3 -c "import math; print(repr(1 + math.log(2)))")
expect_values "attention bool mask" 1e-15 "2 0 $lse_masked -inf" "${at[@]}" \
  --mask "$work/at_mask.npy" \
  --lse -
# Files: .npy out and lse, the queries' dtype and f64 lse for f64 data.
rm -f "$outdir/at_out.npy" "$outdir/at_lse.npy"
run "${at[@]}" -o "$outdir/at_out.npy" --lse "$outdir/at_lse.npy"
if ((rc != 0)) || [[ -n $out ]]; then
  fail "attention -o --lse: exit $rc, printed '${out:0:100}': $err"
elif [[ $(npy read "$outdir/at_out.npy" | head -1) != "<f8 2x1" ||
  $(npy read "$outdir/at_lse.npy" | head -1) != "<f8 2" ]]; then
  fail "attention -o --lse: $(npy read "$outdir/at_out.npy" | head -1), $(npy read "$outdir/at_lse.npy" | head -1)"
else
  pass
fi
rm -f "$outdir/at_out.npy" "$outdir/at_lse.npy"

o=(-o "$outdir/result.npy" --lse "$outdir/result_lse.npy")
expect_error "attention no -v" 2 "attention needs -q Q.npy -k K.npy -v V.npy" attention \
  -q "$work/at_q.npy" -k "$work/at_k.npy" "${o[@]}"
expect_error "attention bad alignment" 2 "must be top_left or lower_right" "${at[@]}" \
  --causal-alignment bottom "${o[@]}"
expect_error "attention bad softcap" 2 "invalid --softcap '-1'" "${at[@]}" --softcap -1 "${o[@]}"
expect_error "attention same output files" 2 "name the same file" "${at[@]}" \
  -o "$outdir/result.npy" --lse "$outdir/result.npy"
expect_error "attention dtypes differ" 1 "q, k and v must share a dtype" attention \
  -q "$work/at_q32.npy" -k "$work/at_k.npy" -v "$work/at_v.npy" "${o[@]}"
expect_error "attention k and v disagree" 1 "does not match k" attention -q "$work/at_q.npy" \
  -k "$work/at_k.npy" -v "$work/at_q.npy" "${o[@]}"
expect_error "attention mask shape" 1 "does not broadcast to [1, 1, 2, 3]" "${at[@]}" \
  --mask "$work/at_v.npy" "${o[@]}"
expect_error "attention causal and mask" 1 "is_causal and attn_mask cannot both" "${at[@]}" \
  --causal --mask "$work/at_mask.npy" "${o[@]}"
