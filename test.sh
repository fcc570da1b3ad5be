#!/usr/bin/env bash
# Builds smx (Release, into build/: library, tool, tests and benchmarks) and runs every test, then
# builds the Python package into a venv (build/venv-py) and runs its tests (python/tests).
# Exits non-zero when the build or any test fails.
#
#   ./test.sh
#   ./test.sh -R Softmax     # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source .ci/common.sh

SMX_APT_PACKAGES+=(python3)  # tests/cli/cli_test.sh runs python3 scripts
SMX_APT_PACKAGES+=(python3-venv python3-dev)  # the Python package and its tests (python/)
smx_ensure_deps
smx_configure build Release -DSMX_BUILD_TOOLS=ON -DSMX_BUILD_TESTS=ON -DSMX_BUILD_BENCHMARKS=ON \
  -DSMX_SANITIZE=OFF
smx_build build
smx_test build --timeout 600 "$@"
[[ ${SMX_PYTHON_TESTS:-1} == 0 ]] || smx_python_test build/venv-py  # SMX_PYTHON_TESTS=0 skips it
