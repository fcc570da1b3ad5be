# shellcheck shell=bash
# shellcheck disable=SC2154  # $work, $outdir, $out and the helpers come from cli_test.sh
# Sourced by cli_test.sh: .csv and .npy input and output, dtypes, axes.

# .csv in, .csv out.
printf '1,2,3\n4, 5, 6\n\n' >"$work/in.csv"
run softmax -i "$work/in.csv" -o "$outdir/ok.csv"
check "csv -> csv exits 0 and prints nothing" [ "$rc" = 0 -a -z "$out" ]
check "csv output: 2 rows of 3 comma-separated values" \
  [ "$(grep -cE '^[^,]+,[^,]+,[^,]+$' "$outdir/ok.csv")" = 2 -a "$(wc -l <"$outdir/ok.csv")" = 2 ]
check "csv output values" holds "$(cat "$outdir/ok.csv")" close 1e-15 0.09003057317038046 0.24472847105479764 0.6652409557748219 0.09003057317038046 0.24472847105479764 0.6652409557748219
check "csv output digits are shortest" holds "$(cat "$outdir/ok.csv")" shortest f8
run logsumexp -i "$work/in.csv" -o "$outdir/ok_lse.csv"
check "logsumexp csv: one value per row" [ "$(wc -l <"$outdir/ok_lse.csv")" = 2 ]
check "logsumexp csv values" holds "$(cat "$outdir/ok_lse.csv")" close 1e-15 3.40760596444438 6.40760596444438
expect_values "csv printed" 1e-12 "0.0900306 0.244728 0.665241 0.0900306 0.244728 0.665241" \
  softmax --precision 6 -i "$work/in.csv"
printf '2 1 0.5\n' >"$work/in.txt"
expect_values ".txt input" 1e-4 "0.6285 0.2312 0.1402" softmax -i "$work/in.txt"

# .npy f64: shape and dtype kept.
npy write "$work/a.npy" f8 2x3 1 2 3 1000 1001 1002
run softmax -i "$work/a.npy" -o "$outdir/ok_a.npy"
check "npy f64 -> npy" [ "$rc" = 0 ]
npy read "$outdir/ok_a.npy" >"$work/read"
check "npy f64 keeps dtype and shape" [ "$(head -1 "$work/read")" = "<f8 2x3" ]
check "npy f64 values" holds "$(tail -1 "$work/read")" close 1e-15 0.09003057317038046 0.24472847105479764 0.6652409557748219 0.09003057317038046 0.24472847105479764 0.6652409557748219
run softmax -i "$work/a.npy" -o "$outdir/ok_a.csv"
check "npy -> csv" [ "$(wc -l <"$outdir/ok_a.csv")" = 2 ]
expect_values "npy printed" 1e-15 "0.09003057317038046 0.24472847105479764 0.6652409557748219 0.09003057317038046 0.24472847105479764 0.6652409557748219" \
  softmax -i "$work/a.npy"

# .npy f32, and csv text computed in f32 written as f32 .npy.
npy write "$work/f.npy" f4 3 2 1 0.5
run log-softmax -i "$work/f.npy" -o "$outdir/ok_f.npy"
check "npy f32 keeps dtype" [ "$(npy read "$outdir/ok_f.npy" | head -1)" = "<f4 3" ]
run softmax -i "$work/f.npy"
check "npy f32 prints shortest f32 digits" holds "$out" shortest f4
run softmax --dtype f32 -i "$work/in.csv" -o "$outdir/ok_c32.npy"
check "csv --dtype f32 -> npy f32" [ "$(npy read "$outdir/ok_c32.npy" | head -1)" = "<f4 2x3" ]

# .npy f16: computed by the library in f16 storage, written back as f16.
npy write "$work/h.npy" f2 3 2 1 0.5
run softmax -i "$work/h.npy" -o "$outdir/ok_h.npy"
npy read "$outdir/ok_h.npy" >"$work/read"
check "npy f16 keeps dtype" [ "$(head -1 "$work/read")" = "<f2 3" ]
check "npy f16 values" holds "$(tail -1 "$work/read")" close 1e-3 0.6285 0.2312 0.1402
expect_values "npy f16 printed" 1e-3 "0.6285 0.2312 0.1402" softmax -i "$work/h.npy"
check "npy f16 prints shortest f16 digits" holds "$out" shortest f2
expect_values "npy f16 logsumexp" 1e-3 "2.4638" logsumexp -i "$work/h.npy"

# --axis on 2-d and 3-d .npy.
npy write "$work/m.npy" f8 2x2 1 2 3 4
expect_values "--axis 0 softmax goes down columns" 1e-15 \
  "0.11920292202211755 0.11920292202211755 0.8807970779778823 0.8807970779778823" \
  softmax --axis 0 -i "$work/m.npy"
expect_values "--axis -2 is axis 0" 1e-15 \
  "0.11920292202211755 0.11920292202211755 0.8807970779778823 0.8807970779778823" \
  softmax --axis -2 -i "$work/m.npy"
expect_values "--axis 1 is the default" 1e-15 \
  "0.2689414213699951 0.7310585786300049 0.2689414213699951 0.7310585786300049" \
  softmax --axis=1 -i "$work/m.npy"
run logsumexp -i "$work/m.npy" -o "$outdir/ok_l.npy"
check "logsumexp npy drops the last axis" [ "$(npy read "$outdir/ok_l.npy" | head -1)" = "<f8 2" ]
run logsumexp --axis 0 -i "$work/m.npy" -o "$outdir/ok_l0.npy"
npy read "$outdir/ok_l0.npy" >"$work/read"
check "logsumexp --axis 0 drops axis 0" [ "$(head -1 "$work/read")" = "<f8 2" ]
check "logsumexp --axis 0 values" holds "$(tail -1 "$work/read")" close 1e-15 3.1269280110429727 4.126928011042972
npy write "$work/t.npy" f4 2x3x4 $(seq 1 24)
run logsumexp --axis 1 -i "$work/t.npy" -o "$outdir/ok_t.npy"
check "3-d logsumexp --axis 1 gives 2x4" [ "$(npy read "$outdir/ok_t.npy" | head -1)" = "<f4 2x4" ]
run softmax --axis 1 -i "$work/t.npy" -o "$outdir/ok_t3.npy"
npy read "$outdir/ok_t3.npy" >"$work/read"
check "3-d softmax --axis 1 sums to 1 along axis 1" python3 -c '
import sys
v = [float(t) for t in open(sys.argv[1]).read().split("\n")[1].split()]
for i in range(2):
    for k in range(4):
        assert abs(sum(v[i * 12 + j * 4 + k] for j in range(3)) - 1) < 1e-6, (i, k)
' "$work/read"
run softmax --axis 1 -i "$work/t.npy"
check "3-d printed as rows of the last axis" [ "$(printf '%s\n' "$out" | wc -l)" = 6 ]

# Outputs replace an existing file whole and leave no temporary file.
echo old >"$outdir/ok_over.csv"
run softmax -o "$outdir/ok_over.csv" 1 1
check "output replaces an existing file" [ "$(cat "$outdir/ok_over.csv")" = "0.5,0.5" ]
check "no temporary files left" [ -z "$(find "$outdir" -name '*smx-tmp*')" ]
run softmax -o "$outdir/ok_upper.NPY" 1 1
check "upper-case extension" [ "$(npy read "$outdir/ok_upper.NPY" | head -1)" = "<f8 2" ]
expect_output "-o - prints" "0.5 0.5" softmax -o - 1 1

# Elementwise ops on .npy: any rank, 0-d included, dtype and shape kept.
npy write "$work/e.npy" f4 2x2x1 -100 0 40 1
run log-sigmoid -i "$work/e.npy" -o "$outdir/ok_e.npy"
check "log-sigmoid npy keeps dtype and shape" [ "$(npy read "$outdir/ok_e.npy" | head -1)" = "<f4 2x2x1" ]
check "log-sigmoid npy values" holds "$(npy read "$outdir/ok_e.npy" | tail -1)" close 1e-7 -100 -0.6931472 -4.2483543e-18 -0.31326169
npy write "$work/s.npy" f8 "" 0
run sigmoid -i "$work/s.npy" -o "$outdir/ok_s.npy"
check "sigmoid of a 0-d npy is 0-d" [ "$(npy read "$outdir/ok_s.npy")" = "$(printf '<f8 scalar\n0.5')" ]

# jacobian of a batch: [B, K] gives [B, K, K].
npy write "$work/j.npy" f4 2x3 2 1 0.5 0 0 0
run jacobian -i "$work/j.npy" -o "$outdir/ok_j.npy"
check "jacobian npy shape" [ "$(npy read "$outdir/ok_j.npy" | head -1)" = "<f4 2x3x3" ]
