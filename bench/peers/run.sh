#!/usr/bin/env bash
# The peer benchmark in one command: sets up what is missing (setup.sh), builds the C++ part into
# build-peers/, runs the C++ and Python processes and writes bench/peers/results/ (RESULTS.md,
# throughput.png, raw.jsonl; TRAINING.md and training.jsonl for the training ops; ATTENTION.md and
# attention.jsonl for attention; SAMPLING.md and sampling.jsonl for sampling). Arguments go to
# report.py (--quick: a short check, for training.py, attention.py and sampling.py too).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${SMX_PEERS_VENV:-$here/.venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import numpy, matplotlib" 2>/dev/null; then
  "$here/setup.sh"
fi
cd "$here/../.."
# smx's Python package is rebuilt into the venv on every run (incremental, in the venv's own build
# directory), so that the Python table measures this tree, not the one setup.sh once installed.
"$venv/bin/python" -m pip install -q --no-deps . -C build-dir="$venv/smx-build" ||
  echo "run.sh: WARNING: could not rebuild smx's Python package; its Python figures may be stale" >&2
"$venv/bin/python" "$here/report.py" --command "bench/peers/run.sh $*" "$@"
# The training ops (softmax backward, fused cross-entropy) beside PyTorch: results/TRAINING.md.
quick=()
for a in "$@"; do [ "$a" = --quick ] && quick=(--quick); done
"$venv/bin/python" "$here/training.py" "${quick[@]}" --markdown "$here/results/TRAINING.md" \
  > "$here/results/training.jsonl"
# Attention beside PyTorch's scaled_dot_product_attention: results/ATTENTION.md.
"$venv/bin/python" "$here/attention.py" "${quick[@]}" --markdown "$here/results/ATTENTION.md" \
  > "$here/results/attention.jsonl"
# Sampling beside PyTorch's sort-based sampler: results/SAMPLING.md.
"$venv/bin/python" "$here/sampling.py" "${quick[@]}" --markdown "$here/results/SAMPLING.md" \
  > "$here/results/sampling.jsonl"
