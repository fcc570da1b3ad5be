# shellcheck shell=bash
# Shell functions shared by run.sh, test.sh and .ci/run. Source it; it does nothing by itself.
#
#   source .ci/common.sh
#   smx_ensure_deps                          # apt-get install what is missing (Debian 12)
#   smx_configure build Release [-DFOO=ON]   # cmake -G Ninja into build/
#   smx_build build [target...]              # cmake --build with nproc jobs
#   smx_python_test build/venv-py            # pip install the Python package there, pytest

# The packages smx needs to build, test and benchmark.
SMX_APT_PACKAGES=(build-essential g++ cmake ninja-build pkg-config libhwy-dev libgtest-dev
                  libgmock-dev libbenchmark-dev nlohmann-json3-dev)

smx_log() { printf 'smx: %s\n' "$*" >&2; }
smx_die() { smx_log "error: $*"; exit 1; }

# Installs the packages of SMX_APT_PACKAGES that dpkg does not list as installed. Silent when
# nothing is missing; the apt-get log is printed only if the install fails.
smx_ensure_deps() {
  local missing=() pkg
  for pkg in "${SMX_APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  command -v apt-get >/dev/null || smx_die "missing packages (${missing[*]}) and no apt-get"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || smx_die "missing packages (${missing[*]}); run as root"
    sudo=(sudo)
  fi
  smx_log "installing ${missing[*]}"
  local log
  log=$(mktemp)
  if ! { "${sudo[@]}" apt-get update -qq &&
         "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    smx_die "apt-get install failed"
  fi
  rm -f "$log"
}

# smx_configure DIR BUILD_TYPE [cmake args...]: configures the project (the repository root) with
# Ninja into DIR. A DIR configured earlier with another generator is configured afresh. Pass the
# SMX_BUILD_* options you rely on: CMake keeps the values of an earlier configure of DIR.
smx_configure() {
  local dir=$1 type=$2
  shift 2
  local fresh=()
  if [[ -f $dir/CMakeCache.txt ]] && ! grep -qx 'CMAKE_GENERATOR:INTERNAL=Ninja' "$dir/CMakeCache.txt"; then
    fresh=(--fresh)
  fi
  cmake "${fresh[@]}" -S "$SMX_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null ||
    smx_die "cmake configure of $dir failed"
}

# smx_build DIR [target...]: builds DIR (all targets when none is named) with nproc jobs.
smx_build() {
  local dir=$1
  shift
  local targets=()
  (($# > 0)) && targets=(--target "$@")
  cmake --build "$dir" -j "$(nproc)" "${targets[@]}" || smx_die "build of $dir failed"
}

# smx_test DIR [ctest args...]: runs every test of DIR; fails when a test fails or none exists.
smx_test() {
  local dir=$1
  shift
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$(nproc)" "$@"
}

# smx_python_test VENV [pytest args...]: the Python package (python/, pyproject.toml) in the venv
# VENV (created when missing; needs python3-venv and python3-dev): installs numpy, scipy, pytest
# and the build backend, then the package from this tree without build isolation (so the CMake
# build in build/python/ is reused), then runs pytest on python/tests.
smx_python_test() {
  local venv=$1
  shift
  [[ -x $venv/bin/python ]] || python3 -m venv "$venv" || smx_die "python3 -m venv $venv failed"
  local pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
  "${pip[@]}" install "numpy>=1.22" "scipy>=1.9" "pytest>=7" "scikit-build-core>=0.10" \
    "nanobind>=2.0" || smx_die "pip install of the Python test dependencies failed"
  CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) "${pip[@]}" install --no-build-isolation --no-deps \
    "$SMX_ROOT" || smx_die "pip install of the smx Python package failed"
  (cd "$SMX_ROOT" && "$venv/bin/python" -m pytest -q -p no:cacheprovider python/tests "$@")
}

SMX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
