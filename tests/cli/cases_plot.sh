# shellcheck shell=bash
# shellcheck disable=SC2154  # $work, $outdir, $here, $out, $rc and the helpers come from cli_test.sh
# Sourced by cli_test.sh: smx plot. Its SVG must parse as XML and print what the other smx
# commands compute (svg_check.py); --term at a fixed width is compared with the exact text; bad
# input is one error line, exit 2, and no file.

# svg_ok NAME KIND SVG ARGS...: svg_check.py KIND SVG ARGS... holds.
svg_ok() {
  local name=$1 kind=$2 file=$3 message
  shift 3
  if message=$(python3 "$here/svg_check.py" "$kind" "$file" "$@"); then pass; else fail "$name: $message"; fi
}

# plot_svg NAME FILE ARGS...: `smx plot ARGS...` exits 0 and prints the SVG, saved in FILE.
plot_svg() {
  local name=$1 file=$2
  shift 2
  run plot "$@"
  printf '%s\n' "$out" >"$file"
  if ((rc == 0)) && [[ $out == "<?xml"* ]]; then pass; else fail "$name: exit $rc: $err"; fi
}

# smx_list COMMAND ARGS...: smx's printed values, comma-separated.
smx_list() {
  run "$@"
  printf '%s' "$out" | tr -s ' \n' ',,'
}

# The expected bars: smx softmax and smx entropy at each temperature, limits included.
plot_expect_temperature() {
  local temps=$1 probs="" entropies="" t
  shift
  for t in ${temps//,/ }; do
    probs+=$(smx_list softmax -T "$t" "$@"),
    entropies+=$(smx_list entropy -T "$t" "$@"),
  done
  printf '%s %s %s' "$temps" "${entropies%,}" "${probs%,}"
}

# temperature: a panel per T, K bars each, the probabilities and entropies that smx prints.
rm -f "$outdir/pl_t.svg"
run plot temperature 3 1 0 -T 0.5,1,2,5 -o "$outdir/pl_t.svg"
if ((rc == 0)) && [[ -z $out && -s $outdir/pl_t.svg ]]; then pass; else fail "plot -o: exit $rc, '$out' $err"; fi
# shellcheck disable=SC2046  # the three lists are three words
svg_ok "plot temperature" temperature "$outdir/pl_t.svg" $(plot_expect_temperature 0.5,1,2,5 3 1 0)
rm -f "$outdir/pl_t.svg"
check "plot -o leaves no temporary" test -z "$(find "$outdir" -name '*smx-tmp*')"
plot_svg "plot temperature limits" "$work/pl_tl.svg" temperature 2 2 -1 -inf -T 0,inf
# shellcheck disable=SC2046
svg_ok "plot temperature limits" temperature "$work/pl_tl.svg" $(plot_expect_temperature 0,inf 2 2 -1 -inf)
plot_svg "plot temperature default T" "$work/pl_td.svg" temperature -- -1 0.5
# shellcheck disable=SC2046
svg_ok "plot temperature default T" temperature "$work/pl_td.svg" $(plot_expect_temperature 0.5,1,2,5 -1 0.5)

# jacobian: K*K cells printing smx jacobian's J, diverging colours, labels.
jacobian_values() { run jacobian "$@" && printf '%s' "$out" | tr '\n' ' '; }
plot_svg "plot jacobian" "$work/pl_j.svg" jacobian 1 0 -1
# shellcheck disable=SC2046
svg_ok "plot jacobian" jacobian "$work/pl_j.svg" "J = diag(p) − p pᵀ" $(jacobian_values 1 0 -1)
plot_svg "plot jacobian T" "$work/pl_j2.svg" jacobian -T 2 0.5 4 -2 1 3
# shellcheck disable=SC2046
svg_ok "plot jacobian T" jacobian "$work/pl_j2.svg" "J = (diag(p) − p pᵀ) / T at T = 2" \
  $(jacobian_values -T 2 0.5 4 -2 1 3)
# A masked class: its row and column are 0 (printed so, not -0.0000).
plot_svg "plot jacobian masked" "$work/pl_j3.svg" jacobian 2 -inf 1
# shellcheck disable=SC2046
svg_ok "plot jacobian masked" jacobian "$work/pl_j3.svg" "J = diag(p) − p pᵀ" $(jacobian_values 2 -inf 1)
check "plot jacobian masked: no -0" test "$(grep -c '>-0.0000<' "$work/pl_j3.svg")" = 0

# sigmoid: the two curves coincide, dashed over solid, with a tiny max |difference|.
plot_svg "plot sigmoid" "$work/pl_s.svg" sigmoid
svg_ok "plot sigmoid" sigmoid "$work/pl_s.svg" 241
plot_svg "plot sigmoid range" "$work/pl_s2.svg" sigmoid --range -10,10
check "plot sigmoid range: ticks to 10" grep -q '>-10</text>' "$work/pl_s2.svg"

# entropy: H rises from log m (m maxima) to log K (K finite logits).
plot_svg "plot entropy" "$work/pl_e.svg" entropy 3 1 0
svg_ok "plot entropy" entropy "$work/pl_e.svg" 1 3
plot_svg "plot entropy ties" "$work/pl_e2.svg" entropy 3 3 0 -inf --range 0.001,1000
svg_ok "plot entropy ties" entropy "$work/pl_e2.svg" 2 3

# --term at a fixed width: the exact text.
want=$(
  cat <<'EOF'
softmax(z / T) for z = [3, 1, 0]

T = 1   H = 0.5243 nats
z = 3  ██████████████████████████████████████         0.8438
z = 1  █████▏                                         0.1142
z = 0  █▉                                             0.0420
EOF
)
expect_output "plot temperature --term" "$want" plot temperature 3 1 0 -T 1 --term --width 60
want=$(
  cat <<'EOF'
J = diag(p) − p pᵀ, J[i][j] = ∂p_i/∂z_j, for z = [1, 0, -1]

              z₀ = 1   z₁ = 0  z₂ = -1
p₀ = 0.6652  +0.2227  -0.1628  -0.0599
p₁ = 0.2447  -0.1628  +0.1848  -0.0220
p₂ = 0.0900  -0.0599  -0.0220  +0.0819
EOF
)
expect_output "plot jacobian --term" "$want" plot jacobian 1 0 -1 --term
# Every bar row fits the width; the limits show as rows.
fits() { python3 -c 'import sys; sys.exit(max(map(len, sys.argv[2].split("\n"))) > int(sys.argv[1]))' "$@"; }
run plot temperature 3 1 0 -T 0,0.5,inf --term --width 60
check "plot temperature --term fits 60" fits 60 "$out"
check "plot temperature --term hardmax" grep -q '^T → 0 (hardmax)   H = 0.0000 nats$' <<<"$out"
check "plot temperature --term uniform" grep -q '^z = 1  ███████████████  *0.3333$' <<<"$out"
run plot entropy 3 3 0 --term --width 60
check "plot entropy --term fits 60" fits 60 "$out"
check "plot entropy --term log m" grep -q '^T → 0 (hardmax)  .* 0.6931$' <<<"$out"
check "plot entropy --term log K" grep -q '^T → ∞ (uniform)  █*  1.0986$' <<<"$out"
run plot sigmoid --term --width 70
check "plot sigmoid --term fits 70" fits 70 "$out"
check "plot sigmoid --term midpoint" grep -q '^z₁ − z₂ = 0   .* 0.5000  σ = 0.5000$' <<<"$out"
rm -f "$outdir/pl_term.txt"
run plot temperature 1 0 --term -o "$outdir/pl_term.txt"
check "plot --term -o" grep -q '^z = 1 ' "$outdir/pl_term.txt"
rm -f "$outdir/pl_term.txt"

expect_contains "plot --help" "Usage: smx plot temperature" plot --help
expect_contains "help plot" "smx plot jacobian" help plot
expect_contains "help lists plot" "smx plot KIND" help

# Bad input: one line naming the bad value, exit 2 (1 for a file that cannot be written), no file.
o=(-o "$outdir/result.svg")
expect_error "plot no kind" 2 "needs a kind" plot "${o[@]}"
expect_error "plot unknown kind" 2 "unknown plot 'histogram'" plot histogram 1 2 "${o[@]}"
expect_error "plot no values" 2 "no logits" plot temperature "${o[@]}"
expect_error "plot not a number" 2 "invalid logit 'abc'" plot temperature 1 abc "${o[@]}"
expect_error "plot NaN logit" 2 "invalid logit 'nan'" plot jacobian 1 nan "${o[@]}"
expect_error "plot +inf logit" 2 "invalid logit 'inf'" plot entropy 1 inf "${o[@]}"
expect_error "plot all masked" 2 "no finite logit" plot temperature -inf -inf "${o[@]}"
expect_error "plot empty -T" 2 "-T needs a comma-separated list" plot temperature 1 2 -T= "${o[@]}"
expect_error "plot empty -T item" 2 "-T '1,,2' has an empty item" plot temperature 1 2 -T 1,,2 "${o[@]}"
expect_error "plot negative T" 2 "invalid temperature '-1'" plot temperature 1 2 -T 1,-1 "${o[@]}"
expect_error "plot NaN T" 2 "invalid temperature 'nan'" plot temperature 1 2 -T nan "${o[@]}"
expect_error "plot jacobian T 0" 2 "invalid temperature '0' for plot jacobian" plot jacobian 1 2 -T 0 "${o[@]}"
expect_error "plot jacobian two T" 2 "takes one temperature" plot jacobian 1 2 -T 1,2 "${o[@]}"
# shellcheck disable=SC2046
expect_error "plot jacobian K 33" 2 "at most 32 classes, got 33" plot jacobian $(seq 1 33) "${o[@]}"
# shellcheck disable=SC2046
expect_error "plot temperature K 33" 2 "at most 32 classes" plot temperature $(seq 1 33) "${o[@]}"
expect_error "plot unknown option" 2 "unknown option '--bins'" plot temperature 1 2 --bins 4 "${o[@]}"
expect_error "plot sigmoid values" 2 "plot sigmoid takes no values, got '3'" plot sigmoid 3 "${o[@]}"
expect_error "plot bad range" 2 "invalid --range '6,-6'" plot sigmoid --range 6,-6 "${o[@]}"
expect_error "plot entropy range 0" 2 "invalid --range '0,10'" plot entropy 1 2 --range 0,10 "${o[@]}"
expect_error "plot entropy -T" 2 "plot entropy draws H at every temperature" plot entropy 1 2 -T 1 "${o[@]}"
expect_error "plot range elsewhere" 2 "takes no --range" plot jacobian 1 2 --range 1,2 "${o[@]}"
expect_error "plot width without term" 2 "give --term too" plot temperature 1 2 --width 60 "${o[@]}"
expect_error "plot narrow width" 2 "invalid value '5' for --width" plot temperature 1 2 --term --width 5
expect_error "plot not .svg" 2 "-o '$outdir/result.png'" plot temperature 1 2 -o "$outdir/result.png"
expect_error "plot unwritable" 1 "cannot write '$outdir/none/result.svg'" plot temperature 1 2 \
  -o "$outdir/none/result.svg"
