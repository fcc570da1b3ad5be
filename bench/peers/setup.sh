#!/usr/bin/env bash
# Installs what the peer benchmark needs: the C++ peers (Debian packages) and a virtual
# environment bench/peers/.venv with the Python peers and the smx Python package.
# Peers are benchmark dependencies only; the smx library never depends on them.
# Usage: bench/peers/setup.sh            (SMX_PEERS_VENV overrides the venv path)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${SMX_PEERS_VENV:-$here/.venv}

# C++ peers: oneDNN, XNNPACK (+ pthreadpool), Eigen; plus what smx itself builds with.
pkgs=(libdnnl-dev libxnnpack-dev libpthreadpool-dev libeigen3-dev cmake g++ pkg-config libhwy-dev
      python3-venv)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "setup: apt-get install ${missing[*]}"
  SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${missing[@]}" ||
    echo "setup: WARNING: apt-get failed; the C++ peers may be skipped" >&2
fi

# Python peers.
py=${PYTHON:-python3}
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv" || { echo "setup: cannot create $venv" >&2; exit 1; }
pip=("$venv/bin/python" -m pip install -q)
# The CPU wheel of PyTorch avoids gigabytes of CUDA libraries; PyPI's wheel is the fallback.
if ! "${pip[@]}" --retries 1 --timeout 20 torch --index-url https://download.pytorch.org/whl/cpu; then
  echo "setup: the CPU wheel index is not reachable; installing torch from PyPI" >&2
  "${pip[@]}" torch || echo "setup: WARNING: torch not installed" >&2
fi
for group in "numpy scipy matplotlib" "onnx onnxruntime" "jax[cpu]"; do
  # shellcheck disable=SC2086
  "${pip[@]}" $group || echo "setup: WARNING: could not install $group" >&2
done

# smx's own Python package, from the repository root.
if [ -f "$repo/pyproject.toml" ] || [ -f "$repo/python/pyproject.toml" ] || [ -f "$repo/setup.py" ]; then
  # The extension is built in the venv (not in the repository's build/), so that this never
  # competes with a developer's own build directory.
  "${pip[@]}" "$repo" -C build-dir="$venv/smx-build" ||
    echo "setup: WARNING: 'pip install $repo' failed; the Python table will skip smx" >&2
else
  echo "setup: WARNING: no pyproject.toml at $repo yet; the Python table will skip smx" >&2
fi
"$venv/bin/python" - <<'PY'
import importlib
for name in ["numpy", "scipy", "torch", "onnxruntime", "onnx", "jax", "matplotlib", "smx"]:
    try:
        m = importlib.import_module(name)
        print(f"setup: {name} {getattr(m, '__version__', '?')}")
    except Exception as e:  # noqa: BLE001 - report and go on
        print(f"setup: {name} MISSING ({type(e).__name__}: {e})")
PY
