# shellcheck shell=bash
# shellcheck disable=SC2154  # $work, $outdir, $out and the helpers come from cli_test.sh
# Sourced by cli_test.sh: every bad input gets one clear message, exit 2 (usage) or 1 (runtime), and
# no output file.

# The command line.
expect_error "unknown command" 2 "unknown command 'frobnicate'" frobnicate
expect_error "unknown option" 2 "unknown option '--bogus'" softmax --bogus 1 2
expect_error "unknown short option" 2 "unknown option '-x'" softmax -x 1 2
expect_error "non-number" 2 "'abc' at value 2 is not a number" softmax 1 abc -o "$outdir/result.npy"
expect_error "half a number" 2 "not a number" softmax 1e 2
expect_error "double sign" 2 "not a number" softmax +-1 2
expect_error "overflowing value" 2 "out of range" softmax 1e999 2
expect_error "negative temperature" 2 "invalid temperature '-1': must be >= 0" softmax -T -1 1 2
expect_error "NaN temperature" 2 "invalid temperature 'nan'" softmax -T nan 1 2
expect_error "word temperature" 2 "invalid temperature 'hot'" softmax -T hot 1 2
expect_error "-T without value" 2 "option '-T' needs a value" softmax 1 2 -T
expect_error "-i without value" 2 "option '-i' needs a value" softmax -i
expect_error "--axis without value" 2 "needs a value" softmax 1 2 --axis
expect_error "-T followed by an option" 2 "option '-T' needs a value" softmax -T --axis 0 1 2
expect_error "logsumexp takes no temperature" 2 "no temperature" logsumexp -T 2 1 2
expect_error "bad axis on 1-d" 2 "invalid axis 1" softmax --axis 1 1 2 3
expect_error "bad axis -2 on 1-d" 2 "invalid axis -2" softmax --axis -2 1 2 3
expect_error "non-integer axis" 2 "--axis" softmax --axis x 1 2
expect_error "bad dtype" 2 "--dtype" softmax --dtype f16 1 2
expect_error "bad precision" 2 "--precision" softmax --precision 0 1 2
expect_error "flag with a value" 2 "takes no value" softmax --explain=yes 1 2
expect_error "no input" 2 "no input" softmax
expect_error "no input after --" 2 "no input" softmax --
expect_error "values and -i" 2 "not both" softmax -i "$work/in.csv" 1 2
expect_error "unknown input format" 2 "input format" softmax -i "$work/x.dat"
expect_error "unknown output format" 2 "output format" softmax -o "$outdir/result.txt" 1 2
expect_error "--dtype against npy" 2 "does not match" softmax --dtype f32 -i "$work/a.npy" \
  -o "$outdir/result.npy"
expect_error "bench bad shape" 2 "--shape" bench --shape 10
expect_error "bench zero rows" 2 "--shape" bench --shape 0x10
expect_error "bench bad op" 2 "--op" bench --op softmin
expect_error "bench zero threads" 2 "--threads" bench --threads 0
expect_error "bench bad reps" 2 "--reps" bench --reps -3
expect_error "info takes no arguments" 2 "no arguments" info now
expect_error "demo takes no arguments" 2 "no arguments" demo fast

# Files that cannot be read, or hold bad data.
expect_error "missing file" 1 "cannot open" softmax -i "$work/missing.npy" -o "$outdir/result.npy"
mkdir -p "$work/dir.csv"
expect_error "directory as csv input" 1 "directory" softmax -i "$work/dir.csv"
printf '1,2,3\n4,5\n' >"$work/ragged.csv"
expect_error "ragged csv" 1 "line 2 has 2 values, line 1 has 3" softmax -i "$work/ragged.csv" \
  -o "$outdir/result.csv"
printf '1,x,3\n' >"$work/word.csv"
expect_error "csv non-number" 1 "'x' at line 1" softmax -i "$work/word.csv" -o "$outdir/result.csv"
printf '1,,3\n' >"$work/hole.csv"
expect_error "csv empty field" 1 "empty field" softmax -i "$work/hole.csv"
: >"$work/empty.csv"
expect_error "empty csv" 1 "empty input" softmax -i "$work/empty.csv" -o "$outdir/result.csv"
printf '\n  \n' >"$work/blank.csv"
expect_error "blank csv" 1 "empty input" softmax -i "$work/blank.csv"
feed ""
expect_error "empty stdin" 1 "empty input" softmax -i -
feed "1 2\n3\n"
expect_error "ragged stdin" 1 "unequal length" softmax -i -
for kind in magic version header-past-end truncated too-little-data too-much-data int32 \
  big-endian fortran garbage-header no-shape huge-shape rank9 scalar empty empty-file; do
  npy bad "$work/bad-$kind.npy" "$kind"
done
expect_error "npy bad magic" 1 "bad magic" softmax -i "$work/bad-magic.npy" -o "$outdir/result.npy"
expect_error "npy bad version" 1 "version 9.0" softmax -i "$work/bad-version.npy" \
  -o "$outdir/result.npy"
expect_error "npy header past the end" 1 "truncated" softmax -i "$work/bad-header-past-end.npy" \
  -o "$outdir/result.npy"
expect_error "npy truncated file" 1 "truncated" softmax -i "$work/bad-truncated.npy"
expect_error "npy too little data" 1 "needs 24 bytes of data, the file has 20" \
  softmax -i "$work/bad-too-little-data.npy" -o "$outdir/result.npy"
expect_error "npy too much data" 1 "does not match its header" \
  softmax -i "$work/bad-too-much-data.npy"
expect_error "npy int32" 1 "unsupported dtype '<i4'" softmax -i "$work/bad-int32.npy" \
  -o "$outdir/result.npy"
expect_error "npy big-endian" 1 "big-endian" softmax -i "$work/bad-big-endian.npy"
expect_error "npy fortran order" 1 "Fortran order" softmax -i "$work/bad-fortran.npy" \
  -o "$outdir/result.npy"
expect_error "npy garbage header" 1 "malformed" softmax -i "$work/bad-garbage-header.npy"
expect_error "npy without shape" 1 "'shape'" softmax -i "$work/bad-no-shape.npy"
expect_error "npy huge shape" 1 "does not match its header" softmax -i "$work/bad-huge-shape.npy"
expect_error "npy rank 9" 1 "rank 9" softmax -i "$work/bad-rank9.npy"
expect_error "npy scalar" 1 "single number" softmax -i "$work/bad-scalar.npy"
expect_error "npy no elements" 1 "empty input" softmax -i "$work/bad-empty.npy" \
  -o "$outdir/result.npy"
expect_error "empty .npy file" 1 "not a .npy file" softmax -i "$work/bad-empty-file.npy"
expect_error "bad axis on npy" 2 "invalid axis 2" softmax --axis 2 -i "$work/m.npy" \
  -o "$outdir/result.npy"

# Outputs that cannot be written.
expect_error "output dir missing" 1 "cannot write" softmax -o "$work/no/such/dir/result.npy" 1 2
mkdir -p "$outdir/dir.csv"
expect_error "output is a directory" 1 "is a directory" softmax -o "$outdir/dir.csv" 1 2
rmdir "$outdir/dir.csv"
echo old >"$outdir/keep.csv"
run softmax -T -1 -o "$outdir/keep.csv" 1 2
check "a failed run leaves an existing output alone" [ "$rc" = 2 -a "$(cat "$outdir/keep.csv")" = old ]
