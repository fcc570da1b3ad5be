#!/usr/bin/env bash
# Builds smx (Release, into build/) and runs its command-line tool.
#
#   ./run.sh                 # installs what is missing (Debian 12, as root), builds, runs `smx demo`
#   ./run.sh softmax 2 1 0.5 # the same build, then runs `smx softmax 2 1 0.5`
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source .ci/common.sh

smx_ensure_deps
smx_configure build Release -DSMX_BUILD_TOOLS=ON -DSMX_SANITIZE=OFF
smx_build build smx_cli

smx=build/tools/smx
[[ -x $smx ]] || smx_die "$smx was not built"
if (($# == 0)); then
  exec "$smx" demo
fi
exec "$smx" "$@"
