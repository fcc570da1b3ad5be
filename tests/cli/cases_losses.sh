# shellcheck shell=bash
# shellcheck disable=SC2154  # $work, $outdir, $here, $out, $rc and the helpers come from cli_test.sh
# Sourced by cli_test.sh: smx cross-entropy against a plain Python reference (loss_ref.py, written
# from PyTorch's definition) for every option, its --explain, and its errors. The golden cases of
# cross_entropy and cross_entropy_probs run through golden_cli.py.

# ref LOGITS TARGET [OPTIONS...]: the reference loss and gradient, in $ref_loss and $ref_grad.
ref() {
  local lines
  lines=$(python3 "$here/loss_ref.py" "$@")
  ref_loss=$(sed -n 1p <<<"$lines")
  ref_grad=$(sed -n 2p <<<"$lines")
}

# expect_loss NAME TOLERANCE LOGITS TARGET [OPTIONS...]: the printed loss, and the loss and
# gradient written to .npy files, match the reference; the files have the logits' dtype.
expect_loss() {
  local name=$1 tolerance=$2 logits=$3 target=$4 message dtype
  shift 4
  ref "$logits" "$target" "$@"
  dtype=$(npy read "$logits" | head -1 | cut -d' ' -f1)
  # shellcheck disable=SC2086  # the reference values are words
  expect_values "$name: printed loss" "$tolerance" "$ref_loss" \
    cross-entropy -i "$logits" --target "$target" "$@"
  rm -f "$outdir/ce_loss.npy" "$outdir/ce_grad.npy"
  run cross-entropy -i "$logits" --target "$target" "$@" -o "$outdir/ce_loss.npy" \
    --grad-out "$outdir/ce_grad.npy"
  if ((rc != 0)) || [[ -n $out ]]; then
    fail "$name: with -o and --grad-out: exit $rc, printed '${out:0:100}': $err"
    return
  fi
  # shellcheck disable=SC2086
  if ! message=$(holds "$(npy read "$outdir/ce_loss.npy" | tail -1)" close "$tolerance" $ref_loss); then
    fail "$name: loss .npy: $message"
  elif ! message=$(holds "$(npy read "$outdir/ce_grad.npy" | tail -1)" close "$tolerance" $ref_grad); then
    fail "$name: grad .npy: $message"
  elif [[ $(npy read "$outdir/ce_loss.npy" | head -1) != "$dtype "* ||
    $(npy read "$outdir/ce_grad.npy" | head -1) != "$(npy read "$logits" | head -1)" ]]; then
    fail "$name: dtype or shape: loss $(npy read "$outdir/ce_loss.npy" | head -1), grad $(npy read "$outdir/ce_grad.npy" | head -1)"
  else
    pass
  fi
}

# Four samples of three classes; the last rows are confident and uncertain.
npy write "$work/ce_z.npy" f8 4x3 2 1 0.5 0 3 -1 1 1 1 -2 0.5 4
npy write "$work/ce_z32.npy" f4 4x3 2 1 0.5 0 3 -1 1 1 1 -2 0.5 4
npy write "$work/ce_z16.npy" f2 4x3 2 1 0.5 0 3 -1 1 1 1 -2 0.5 4
npy write "$work/ce_t.npy" i8 4 0 1 2 1
npy write "$work/ce_t_ign.npy" i8 4 0 -100 2 1
npy write "$work/ce_p.npy" f8 4x3 0.7 0.2 0.1 0 1 0 0.25 0.25 0.5 0.1 0.6 0.3
npy write "$work/ce_w.npy" f8 3 1 2 0.5
z=$work/ce_z.npy
t=$work/ce_t.npy

# Class indices: every reduction and option against the reference.
expect_loss "ce mean (the default)" 1e-12 "$z" "$t"
expect_loss "ce --reduction mean" 1e-12 "$z" "$t" --reduction mean
expect_loss "ce --reduction sum" 1e-12 "$z" "$t" --reduction sum
expect_loss "ce --reduction none" 1e-12 "$z" "$t" --reduction none
expect_loss "ce --weight" 1e-12 "$z" "$t" --weight "$work/ce_w.npy"
expect_loss "ce --weight, none" 1e-12 "$z" "$t" --weight "$work/ce_w.npy" --reduction none
expect_loss "ce ignored sample (-100)" 1e-12 "$z" "$work/ce_t_ign.npy"
expect_loss "ce ignored sample, weighted sum" 1e-12 "$z" "$work/ce_t_ign.npy" \
  --weight "$work/ce_w.npy" --reduction sum
expect_loss "ce --ignore-index 1" 1e-12 "$z" "$t" --ignore-index 1
expect_loss "ce --label-smoothing" 1e-12 "$z" "$t" --label-smoothing 0.2
expect_loss "ce smoothing, weights, none" 1e-12 "$z" "$t" --label-smoothing 0.2 \
  --weight "$work/ce_w.npy" --reduction none
expect_loss "ce --label-smoothing 1" 1e-12 "$z" "$t" --label-smoothing 1
expect_loss "ce f32" 1e-5 "$work/ce_z32.npy" "$t" --label-smoothing 0.1 --reduction none

# Every option changes the result (so that none is silently dropped).
run cross-entropy -i "$z" --target "$t"
plain=$out
for option in "--weight $work/ce_w.npy" "--ignore-index 1" "--label-smoothing 0.2" \
  "--reduction sum"; do
  # shellcheck disable=SC2086  # option and value
  run cross-entropy -i "$z" --target "$t" $option
  check "ce ${option%% *} changes the loss" [ "$rc" = 0 -a -n "$out" -a "$out" != "$plain" ]
done

# An ignored sample: no loss and a zero gradient row; the mean is over the others.
run cross-entropy -i "$z" --target "$work/ce_t_ign.npy" --reduction none --grad-out "$outdir/ce_g.npy"
check "ce ignored sample has loss 0" [ "$(sed -n 2p <<<"$out")" = 0 ]
check "ce ignored sample has a zero gradient row" \
  [ "$(npy read "$outdir/ce_g.npy" | tail -1 | cut -d' ' -f4-6)" = "0.0 0.0 0.0" ]

# Probabilities.
expect_loss "ce probabilities, mean" 1e-12 "$z" "$work/ce_p.npy"
expect_loss "ce probabilities, none, weighted" 1e-12 "$z" "$work/ce_p.npy" --reduction none \
  --weight "$work/ce_w.npy"
expect_loss "ce probabilities, smoothed sum" 1e-12 "$z" "$work/ce_p.npy" --label-smoothing 0.3 \
  --reduction sum
# One-hot probabilities are the class indices.
npy write "$work/ce_onehot.npy" f8 4x3 1 0 0 0 1 0 0 0 1 0 1 0
run cross-entropy -i "$z" --target "$t" --reduction none
indices_out=$out
expect_values "ce one-hot probabilities equal class indices" 1e-15 "$(tr '\n' ' ' <<<"$indices_out")" \
  cross-entropy -i "$z" --target "$work/ce_onehot.npy" --reduction none

# Every integer dtype of the target reads the same.
for dtype in i4 i2 i1 u1 u2 u4 u8; do
  npy write "$work/ce_t_$dtype.npy" "$dtype" 4 0 1 2 1
  expect_output "ce target $dtype" "$plain" cross-entropy -i "$z" --target "$work/ce_t_$dtype.npy"
done

# Output forms: one value per line for none, 0-d .npy for sum and mean, .csv, -o -.
run cross-entropy -i "$z" --target "$t" --reduction none
check "ce none prints one loss per line" [ "$(wc -l <<<"$out")" = 4 ]
run cross-entropy -i "$z" --target "$t" --reduction sum -o "$outdir/ce_sum.npy"
check "ce sum .npy is 0-d" [ "$rc" = 0 -a "$(npy read "$outdir/ce_sum.npy" | head -1)" = "<f8 scalar" ]
run cross-entropy -i "$z" --target "$t" --reduction none -o "$outdir/ce_none.npy"
check "ce none .npy has one loss per sample" [ "$(npy read "$outdir/ce_none.npy" | head -1)" = "<f8 4" ]
run cross-entropy -i "$z" --target "$t" --reduction none -o "$outdir/ce_loss.csv" \
  --grad-out "$outdir/ce_grad.csv"
check "ce .csv loss: a value per line" [ "$(wc -l <"$outdir/ce_loss.csv")" = 4 ]
check "ce .csv grad: a row per sample" \
  [ "$(grep -cE '^[^,]+,[^,]+,[^,]+$' "$outdir/ce_grad.csv")" = 4 ]
expect_values "ce -o - prints" 1e-15 "$plain" cross-entropy -i "$z" --target "$t" -o -
ref "$z" "$t"
expect_output "ce --precision 3" "$(printf '%.3g' "$ref_loss")" cross-entropy -i "$z" --target "$t" \
  --precision 3
run cross-entropy -i "$work/ce_z32.npy" --target "$t"
check "ce f32 prints shortest f32 digits" holds "$out" shortest f4

# f16 logits: computed in f32's way, written as f16.
run cross-entropy -i "$work/ce_z16.npy" --target "$t" --reduction none -o "$outdir/ce16.npy" \
  --grad-out "$outdir/ce16_g.npy"
check "ce f16 loss keeps dtype" [ "$(npy read "$outdir/ce16.npy" | head -1)" = "<f2 4" ]
check "ce f16 grad keeps dtype" [ "$(npy read "$outdir/ce16_g.npy" | head -1)" = "<f2 4x3" ]
ref "$z" "$t" --reduction none
# shellcheck disable=SC2086
check "ce f16 values" holds "$(npy read "$outdir/ce16.npy" | tail -1)" close 2e-3 $ref_loss

# One sample [C] with a 0-d target; [N, C, d] with the classes on axis 1 and targets [N, d].
npy write "$work/ce_z1.npy" f8 3 2 1 0.5
npy write "$work/ce_t0.npy" i8 "" 1
expect_loss "ce one sample (C,)" 1e-12 "$work/ce_z1.npy" "$work/ce_t0.npy" --reduction none
run cross-entropy -i "$work/ce_z1.npy" --target "$work/ce_t0.npy" --reduction none \
  -o "$outdir/ce_z1_loss.npy"
check "ce one sample: 0-d loss" [ "$(npy read "$outdir/ce_z1_loss.npy" | head -1)" = "<f8 scalar" ]
npy write "$work/ce_z3.npy" f8 2x3x2 0.5 -1 2 0 1 3 -2 0.25 1 1 4 -3
npy write "$work/ce_t3.npy" i8 2x2 0 2 1 -100
expect_loss "ce (N, C, d)" 1e-12 "$work/ce_z3.npy" "$work/ce_t3.npy" --reduction none
expect_loss "ce (N, C, d), smoothed mean" 1e-12 "$work/ce_z3.npy" "$work/ce_t3.npy" \
  --label-smoothing 0.1
run cross-entropy -i "$work/ce_z3.npy" --target "$work/ce_t3.npy" --reduction none \
  -o "$outdir/ce3.npy"
check "ce (N, C, d): loss (N, d)" [ "$(npy read "$outdir/ce3.npy" | head -1)" = "<f8 2x2" ]

# --explain: the first sample step by step, checked against the library.
ref "$z" "$t" --reduction none
first_loss=$(printf '%.6g' "${ref_loss%% *}")
run cross-entropy --explain -i "$z" --target "$t"
check "ce --explain exits 0" [ "$rc" = 0 ]
for text in "The input holds 4 samples of 3 classes" "1. The logits" "z = [2, 1, 0.5]" \
  "p_i = e_i / S = [0.628532, 0.231224, 0.140244]" "The target class" \
  "y_c = (c = t ? 1 : 0) = [1, 0, 0]" "l = -Σ_c y_c log p_c = $first_loss" \
  "g_c = p_c - y_c = [-0.371468, 0.231224, 0.140244]" "unreduced" "Σ_c g_c" "D = 4" \
  "textbook: [" "The textbook result matches smx"; do
  check "ce --explain shows '$text'" [ "${out/"$text"/}" != "$out" ]
done
check "ce --explain prints no loss" [ "${out/"$plain"/}" = "$out" ]
expect_contains "ce --explain smoothing" "y_c = (1 - ε) onehot(t)_c + ε/C = [0.866667, 0.0666667" \
  cross-entropy --explain -i "$z" --target "$t" --label-smoothing 0.2
expect_contains "ce --explain weights" "u_c = w_c y_c = [1, 0, 0]" \
  cross-entropy --explain -i "$z" --target "$t" --weight "$work/ce_w.npy"
expect_contains "ce --explain weights match" "matches smx" \
  cross-entropy --explain -i "$z" --target "$work/ce_p.npy" --weight "$work/ce_w.npy" \
  --label-smoothing 0.3 --reduction sum
expect_contains "ce --explain probabilities" "y = [0.7, 0.2, 0.1]" \
  cross-entropy --explain -i "$z" --target "$work/ce_p.npy"
expect_contains "ce --explain f32" "Result (f32)" cross-entropy --explain -i "$work/ce_z32.npy" \
  --target "$t"
check "ce --explain f32 matches" [ "${out/matches smx/}" != "$out" ]
expect_contains "ce --explain f16 matches" "matches smx" \
  cross-entropy --explain -i "$work/ce_z16.npy" --target "$t"
npy write "$work/ce_t_ign_first.npy" i8 4 -100 1 2 1
expect_contains "ce --explain ignored sample" "the sample is ignored" \
  cross-entropy --explain -i "$z" --target "$work/ce_t_ign_first.npy"
check "ce --explain ignored sample matches" [ "${out/matches smx/}" != "$out" ]
npy write "$work/ce_zmask.npy" f8 2x3 0 -inf 2 -inf -inf -inf
npy write "$work/ce_zmask_rev.npy" f8 2x3 -inf -inf -inf 0 -inf 2
npy write "$work/ce_t00.npy" i8 2 0 0
expect_contains "ce --explain masked class" "matches smx" \
  cross-entropy --explain -i "$work/ce_zmask.npy" --target "$work/ce_t00.npy" --reduction none
expect_contains "ce --explain fully masked sample" "textbook: [inf, -1, 0, 0]" \
  cross-entropy --explain -i "$work/ce_zmask_rev.npy" --target "$work/ce_t00.npy"
check "ce --explain fully masked sample matches" [ "${out/matches smx/}" != "$out" ]
rm -f "$outdir/ce_explain.npy"
run cross-entropy --explain -i "$z" --target "$t" -o "$outdir/ce_explain.npy"
check "ce --explain with -o explains and writes" \
  [ "$rc" = 0 -a "${out/matches smx/}" != "$out" -a -f "$outdir/ce_explain.npy" ]

# Help.
expect_contains "ce --help" "--label-smoothing E" cross-entropy --help
expect_contains "ce help via smx help" "--grad-out" help cross-entropy
expect_contains "smx --help lists cross-entropy" "smx cross-entropy" --help

# Errors: one message, exit 2 (the command line) or 1 (the data), and no file written.
o=(-o "$outdir/result.npy" --grad-out "$outdir/result_grad.npy")
npy write "$work/ce_t_short.npy" i8 3 0 1 2
npy write "$work/ce_t_big.npy" i8 4 0 3 2 1
npy write "$work/ce_t_neg.npy" i8 4 -1 1 2 1
npy write "$work/ce_p42.npy" f8 4x2 1 0 1 0 1 0 1 0
npy write "$work/ce_p32.npy" f4 4x3 0.7 0.2 0.1 0 1 0 0.25 0.25 0.5 0.1 0.6 0.3
npy write "$work/ce_w2.npy" f8 2 1 2
npy write "$work/ce_w32.npy" f4 3 1 2 0.5
npy write "$work/ce_zint.npy" i8 2x3 1 2 3 4 5 6
npy write "$work/ce_zempty.npy" f8 0x3
npy write "$work/ce_zscalar.npy" f8 "" 1
python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import npy_util
open(sys.argv[2], "wb").write(npy_util.npy_bytes("u1", [4], [1, 0, 1, 0], descr="|b1"))' \
  "$here" "$work/ce_tbool.npy"
expect_error "ce no -i" 2 "no logits" cross-entropy --target "$t" "${o[@]}"
expect_error "ce no --target" 2 "no target" cross-entropy -i "$z" "${o[@]}"
expect_error "ce missing logits file" 1 "cannot open" cross-entropy -i "$work/missing.npy" \
  --target "$t" "${o[@]}"
expect_error "ce missing target file" 1 "cannot open" cross-entropy -i "$z" \
  --target "$work/missing.npy" "${o[@]}"
expect_error "ce bad .npy target" 1 "bad magic" cross-entropy -i "$z" \
  --target "$work/bad-magic.npy" "${o[@]}"
expect_error "ce integer logits" 1 "unsupported dtype '<i8'" cross-entropy -i "$work/ce_zint.npy" \
  --target "$t" "${o[@]}"
expect_error "ce bool target" 1 "unsupported dtype '|b1'" cross-entropy -i "$z" \
  --target "$work/ce_tbool.npy" "${o[@]}"
expect_error "ce target shape" 1 "holds class indices of shape (3,); logits of shape (4, 3) need" \
  cross-entropy -i "$z" --target "$work/ce_t_short.npy" "${o[@]}"
expect_error "ce probabilities shape" 1 "holds probabilities of shape (4, 2)" \
  cross-entropy -i "$z" --target "$work/ce_p42.npy" "${o[@]}"
expect_error "ce probabilities dtype" 1 "f32 probabilities but the logits are f64" \
  cross-entropy -i "$z" --target "$work/ce_p32.npy" "${o[@]}"
expect_error "ce weight shape" 1 "one weight per class, shape (3,)" \
  cross-entropy -i "$z" --target "$t" --weight "$work/ce_w2.npy" "${o[@]}"
expect_error "ce weight dtype" 1 "is f32 but the logits are f64" \
  cross-entropy -i "$z" --target "$t" --weight "$work/ce_w32.npy" "${o[@]}"
expect_error "ce target too large" 1 "target[1] = 3 is outside [0, 3)" \
  cross-entropy -i "$z" --target "$work/ce_t_big.npy" "${o[@]}"
expect_error "ce negative target" 1 "target[0] = -1 is outside [0, 3) and is not ignore_index" \
  cross-entropy -i "$z" --target "$work/ce_t_neg.npy" "${o[@]}"
expect_error "ce ignore-index moved" 1 "target[1] = -100 is outside" \
  cross-entropy -i "$z" --target "$work/ce_t_ign.npy" --ignore-index -1 "${o[@]}"
for value in 1.5 -0.1 nan inf abc ""; do
  expect_error "ce --label-smoothing '$value'" 2 "invalid --label-smoothing '$value'" \
    cross-entropy -i "$z" --target "$t" --label-smoothing="$value" "${o[@]}"
done
expect_error "ce unknown reduction" 2 "invalid --reduction 'avg': must be none, sum or mean" \
  cross-entropy -i "$z" --target "$t" --reduction avg "${o[@]}"
expect_error "ce unknown option" 2 "unknown option '--bogus'" \
  cross-entropy -i "$z" --target "$t" --bogus "${o[@]}"
expect_error "ce non-integer ignore-index" 2 "invalid --ignore-index '1.5'" \
  cross-entropy -i "$z" --target "$t" --ignore-index 1.5 "${o[@]}"
expect_error "ce ignore-index with probabilities" 2 "applies to class-index targets" \
  cross-entropy -i "$z" --target "$work/ce_p.npy" --ignore-index 0 "${o[@]}"
expect_error "ce positional value" 2 "takes no values" cross-entropy -i "$z" --target "$t" 3 "${o[@]}"
expect_error "ce -o and --grad-out one file" 2 "same file" \
  cross-entropy -i "$z" --target "$t" -o "$outdir/result.npy" --grad-out "$outdir/result.npy"
expect_error "ce unknown output format" 2 "output format" \
  cross-entropy -i "$z" --target "$t" -o "$outdir/result.txt"
expect_error "ce non-.npy logits" 2 ".npy" cross-entropy -i "$work/in.csv" --target "$t" "${o[@]}"
expect_error "ce empty logits" 1 "empty input" cross-entropy -i "$work/ce_zempty.npy" \
  --target "$t" "${o[@]}"
expect_error "ce 0-d logits" 1 "single number" cross-entropy -i "$work/ce_zscalar.npy" \
  --target "$t" "${o[@]}"
# The loss is staged until the gradient is written too: a gradient that cannot be written leaves
# no loss file either.
expect_error "ce unwritable --grad-out leaves no loss" 1 "cannot write" \
  cross-entropy -i "$z" --target "$t" -o "$outdir/result.npy" \
  --grad-out "$work/no/such/dir/result_grad.npy"
echo old >"$outdir/keep_loss.csv"
run cross-entropy -i "$z" --target "$work/ce_t_big.npy" -o "$outdir/keep_loss.csv"
check "ce a failed run leaves an existing output alone" \
  [ "$rc" = 1 -a "$(cat "$outdir/keep_loss.csv")" = old ]
