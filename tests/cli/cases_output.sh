# shellcheck shell=bash
# shellcheck disable=SC2154  # $work, $outdir, $out and the helpers come from cli_test.sh
# Sourced by cli_test.sh: values on the command line and on stdin, and what is printed.

# The worked examples.
expect_values "softmax 2 1 0.5" 1e-4 "0.6285 0.2312 0.1402" softmax 2 1 0.5
run softmax 2 1 0.5
check "one line, one space between values" [ "$(printf '%s\n' "$out" | grep -cE '^[^ ]+ [^ ]+ [^ ]+$')" = 1 ]
check "f64 prints the shortest round-trip digits" holds "$out" shortest f8
run softmax --dtype f32 2 1 0.5
check "f32 prints the shortest f32 digits" holds "$out" shortest f4
check "f32 digits are fewer than f64's" [ ${#out} -lt 40 ]
expect_output "--precision 3" "0.629 0.231 0.14" softmax --precision 3 2 1 0.5
expect_values "no overflow at 1000" 1e-4 "0.0900 0.2447 0.6652" softmax 1000 1001 1002
expect_values "f32 no overflow at 1000" 1e-6 "0.09003057 0.24472847 0.66524096" \
  softmax --dtype f32 1000 1001 1002
expect_values "-T 0.5" 1e-4 "0.9796 0.0179 0.0024" softmax -T 0.5 3 1 0
expect_values "-T 1" 1e-4 "0.8438 0.1142 0.0420" softmax -T 1 3 1 0
expect_values "-T 2" 1e-4 "0.6285 0.2312 0.1402" softmax -T 2 3 1 0
expect_values "--temperature=2" 1e-4 "0.6285 0.2312 0.1402" softmax --temperature=2 3 1 0
expect_output "-T 0 is the hardmax" "1 0 0" softmax -T 0 3 1 0
expect_output "-T 0 shares ties" "0.5 0.5 0" softmax -T 0 2 2 1
expect_values "-T 0 log-softmax" 0 "0 -inf -inf" log-softmax -T 0 3 1 0
expect_values "-T inf is uniform" 1e-15 "0.3333333333333333 0.3333333333333333 0.3333333333333333" \
  softmax -T inf 3 1 0
expect_output "-T inf skips -inf entries" "0.5 0.5 0" softmax -T inf 3 1 -inf
expect_values "-T 1e999 is inf" 1e-15 "0.5 0.5" softmax -T 1e999 1 2
expect_output "equal logits" "0.3333333333333333 0.3333333333333333 0.3333333333333333" \
  softmax 0 0 0
expect_values "sigmoid identity" 1e-15 "0.8175744761936437 0.18242552380635635" softmax 2 0.5

# Negative numbers and special values are values, not options.
expect_values "negative values" 1e-4 "0.6652 0.2447 0.0900" softmax -1 -2 -3
expect_values "-- ends options" 1e-12 "-3.048587351573742 -inf -0.04858735157374206" \
  log-softmax -- -1 -inf 2
expect_values "-inf without --" 1e-12 "-3.048587351573742 -inf -0.04858735157374206" \
  log-softmax -1 -inf 2
expect_values "options after values" 1e-4 "0.6285 0.2312 0.1402" softmax 3 1 0 -T 2
expect_values "-.5 and +1 are values" 1e-4 "0.1824 0.8176" softmax -.5 +1
expect_output "NaN spellings" "nan nan" softmax NaN 1
expect_output "+inf makes softmax nan" "nan nan nan" softmax +inf 1 2
expect_output "Inf in logsumexp" "inf" logsumexp Inf 1
expect_output "fully masked row" "0 0" softmax -inf -Infinity
expect_output "fully masked log-softmax" "-inf -inf" log-softmax -inf -inf
expect_output "fully masked logsumexp" "-inf" logsumexp -inf -inf
expect_output "tiny values round to subnormals" "0.5 0.5" softmax 1e-320 1e-320

# logsumexp drops the axis: one number per row.
expect_values "logsumexp" 1e-15 "3.40760596444438" logsumexp 1 2 3
expect_values "log-softmax" 1e-15 "-2.40760596444438 -1.4076059644443804 -0.4076059644443803" \
  log-softmax 1 2 3
feed "1 2 3\n"
expect_output "logsumexp of one stdin row prints one number" "3.40760596444438" logsumexp -i -
feed "1 2 3\n4, 5, 6\n\n0 0 0\n"
run logsumexp -i -
check "logsumexp of 3 rows prints 3 lines" [ "$(printf '%s\n' "$out" | wc -l)" = 3 ]

# Text on stdin: whitespace or commas, a row per line, CRLF tolerated.
feed "2 1 0.5\n1000,1001,1002\r\n  3\t1 , 0  \n"
run softmax -i -
check "stdin: a line per row" [ "$(printf '%s\n' "$out" | wc -l)" = 3 ]
check "stdin rows" holds "$out" close 1e-15 0.6285317192117624 0.23122389762214907 0.14024438316608848 0.09003057317038046 0.24472847105479764 0.6652409557748219 0.8437947344813395 0.11419519938459449 0.04201006613406605
feed "2 1 0.5\n"
expect_values "stdin with --dtype f32" 1e-6 "0.6285317 0.2312239 0.14024438" softmax --dtype f32 -i -

# --explain: the textbook steps with the numbers, checked against the library.
expect_contains "explain softmax" "matches smx" softmax --explain 2 1 0.5
expect_contains "explain shows the shift" "s_i = z_i - m = [0, -1, -1.5]" softmax --explain 2 1 0.5
expect_contains "explain says why" "nothing overflows" softmax --explain 1000 1001 1002
expect_contains "explain divides by T" "x_i = z_i / T = [6, 2, 0]" softmax --explain -T 0.5 3 1 0
expect_contains "explain checks the sum" "Σ_i p_i = 1" softmax --explain 3 1 0
expect_contains "explain log-softmax" "log p_i = s_i - log S" log-softmax --explain 1 2 3
expect_contains "explain logsumexp" "m + log S = 3.40761" logsumexp --explain 1 2 3
expect_contains "explain hardmax" "matches smx" softmax --explain -T 0 2 2 1
expect_contains "explain uniform" "matches smx" log-softmax --explain -T inf 2 2 -inf
expect_contains "explain nan row" "matches smx" softmax --explain nan 1
expect_contains "explain f32" "Result (f32)" softmax --explain --dtype f32 2 1 0.5
feed "1 2\n3 4\n5 6\n"
expect_contains "explain says which row" "holds 3 rows" softmax --explain -i -
run softmax --explain 2 1 0.5
check "explain fits in 80 columns" python3 -c '
import sys
assert max(len(line) for line in sys.argv[1].splitlines()) <= 80
' "$out"

# help, version, info, demo, bench.
run
check "no arguments: usage, exit 0" [ "$rc" = 0 -a "${out:0:4}" = "smx:" ]
expect_contains "--help" "Usage:" --help
expect_contains "help" "Usage:" help
expect_contains "help softmax" "--temperature" help softmax
expect_contains "softmax --help" "--explain" softmax --help
expect_contains "bench --help" "--shape" bench --help
expect_contains "--version" "smx 0.1.0" --version
expect_contains "--version names the target" "SIMD target" --version
expect_contains "info" "SIMD target chosen" info
expect_contains "info threads" "hardware cores" info
expect_contains "demo checks every example" "results match their known values" demo
expect_contains "demo speed line" "ns/element" demo
run bench --shape 64x100 --op log-softmax --threads 1 --reps 3 --json
check "bench --json" python3 -c '
import json, sys
row = json.loads(sys.argv[1])
assert row["op"] == "log-softmax" and row["shape"] == "64x100" and row["threads"] == 1, row
assert row["ns_per_element"] > 0 and row["copy_ns_per_element"] > 0 and row["reps"] == 3, row
' "$out"
run bench --shape 8x1000 --threads 2 --reps 2
check "bench table has every op" [ "$(printf '%s\n' "$out" | grep -c '^8x1000 ')" = 5 ]
run bench --shape 16x300 --op cross-entropy --threads 1 --reps 2 --json
check "bench cross-entropy reports its extra heap: one double per row" python3 -c '
import json, sys
row = json.loads(sys.argv[1])
assert row["op"] == "cross-entropy" and row["ns_per_element"] > 0, row
assert 16 * 8 <= row["extra_heap_bytes"] <= 16 * 8 + 64, row
' "$out"
run bench --shape 16x300 --op softmax-backward --threads 1 --reps 2 --json
check "bench softmax-backward" python3 -c '
import json, sys
row = json.loads(sys.argv[1])
assert row["op"] == "softmax-backward" and row["extra_heap_bytes"] == 0, row
' "$out"
expect_error "bench names its ops" 2 "softmax-backward, cross-entropy, attention or sample" bench --op nope

# sigmoid, log-sigmoid, softplus: elementwise, exact over the whole range.
expect_output "log-sigmoid keeps -100 and the tiny negative" \
  "-100 -0.6931471805599453 -4.248354255291589e-18" log-sigmoid -100 0 40
expect_output "sigmoid edges" "0.5 0.7310585786300049 0 1 nan" sigmoid 0 1 -inf inf nan
expect_output "softplus f32, no overflow" "1000 0 0.6931472" softplus --dtype f32 1000 -1000 0
run sigmoid 2 1 0.5
check "sigmoid is softmax of [x, 0]" holds "$out" close 1e-15 0.8807970779778823 0.7310585786300049 0.6224593312018546
feed '1 2\n-3 -4\n'
run softplus -i -
check "softplus rows from stdin" [ "$(printf '%s\n' "$out" | wc -l)" = 2 ]
expect_error "sigmoid takes no axis" 2 "sigmoid works elementwise and takes no axis" sigmoid --axis 0 1
expect_error "sigmoid takes no temperature" 2 "sigmoid takes no temperature" sigmoid -T 2 1

# jacobian: K lines of K values per row; --explain checks the textbook J against smx.
run jacobian 2 1 0.5
check "jacobian prints K lines" [ "$(printf '%s\n' "$out" | wc -l)" = 3 ]
check "jacobian values" holds "$(printf '%s\n' "$out" | head -1)" close 1e-15 0.23347959715646863 -0.14533155389529387 -0.08814804326117474
run jacobian --explain 2 1 0.5
check "jacobian --explain agrees" [ "$rc" = 0 ]
check "jacobian --explain shows J" grep -q "J_ij = p_i (δ_ij - p_j) / T" <<<"$out"
run jacobian --explain -- 30 0 -5
check "jacobian --explain, a dominant entry, agrees" [ "$rc" = 0 ]
expect_error "jacobian needs T > 0" 1 "temperature must be finite and > 0" jacobian -T 0 1 2

# entropy: one number per row, exact for a confident row; the T limits.
expect_values "entropy of [5, 0, -5]" 1e-16 "0.04067412954243125" entropy 5 0 -5
expect_values "entropy T=0 is log of the ties" 1e-16 "0.6931471805599453" entropy -T 0 3 3 1
expect_values "entropy T=inf is log n" 1e-16 "1.0986122886681098" entropy -T inf 3 1 0
feed '0 0 0\n5 0 -5\n'
run entropy -i -
check "entropy: a line per row" [ "$(printf '%s\n' "$out" | wc -l)" = 2 ]
