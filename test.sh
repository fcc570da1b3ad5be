#!/usr/bin/env bash
# Builds smx (Release, into build/: library, tool, tests and benchmarks) and runs every test.
# Exits non-zero when the build or any test fails.
#
#   ./test.sh
#   ./test.sh -R Softmax     # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source .ci/common.sh

SMX_APT_PACKAGES+=(python3)  # tests/cli/cli_test.sh runs python3 scripts
smx_ensure_deps
smx_configure build Release -DSMX_BUILD_TOOLS=ON -DSMX_BUILD_TESTS=ON -DSMX_BUILD_BENCHMARKS=ON \
  -DSMX_SANITIZE=OFF
smx_build build
smx_test build --timeout 600 "$@"
