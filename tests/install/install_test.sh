#!/usr/bin/env bash
# Installs the built tree into a fresh prefix and uses it as a consumer would: the C++ example as a
# CMake project of its own (find_package(smx CONFIG REQUIRED)), and the C example compiled with
# `pkg-config --cflags --libs smx` (strict C99). Each must build and print its expected results.
# Fails at the first step that fails.
#
#   install_test.sh CMAKE BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR C_COMPILER CXX_COMPILER
set -euo pipefail
cmake=$1 build=$2 source=$3 work=$4 generator=$5 cc=$6 cxx=$7

step() { printf '== %s\n' "$*"; }

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix

step "cmake --install into $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" || {
  cat "$work/install.log"
  exit 1
}
for f in include/smx/smx.h include/smx/smx.hpp include/smx/softmax.h; do
  [[ -f $prefix/$f ]] || { echo "missing $prefix/$f"; exit 1; }
done
config=$(find "$prefix" -name smxConfig.cmake -print -quit)
pc=$(find "$prefix" -name smx.pc -print -quit)
[[ -n $config && -n $pc ]] || { echo "no smxConfig.cmake or smx.pc under $prefix"; exit 1; }

step "the C++ example against find_package(smx)"
"$cmake" -S "$source/examples/cpp" -B "$work/cpp" -G "$generator" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  >"$work/cpp-configure.log" || { cat "$work/cpp-configure.log"; exit 1; }
grep -qx "smx_DIR:PATH=$(dirname "$config")" "$work/cpp/CMakeCache.txt" ||
  { echo "find_package(smx) did not find $config"; grep smx_DIR "$work/cpp/CMakeCache.txt"; exit 1; }
"$cmake" --build "$work/cpp" || exit 1
"$work/cpp/softmax_example"

step "the C example with pkg-config ($pc)"
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
cflags=$(pkg-config --cflags smx)
libs=$(pkg-config --libs smx)
echo "pkg-config --cflags --libs smx: $cflags $libs"
# The example itself uses libm (-lm). A shared libsmx is found at run time through
# LD_LIBRARY_PATH, as pkg-config users would arrange.
# shellcheck disable=SC2086  # the flags are word lists
"$cc" -std=c99 -Wall -Wextra -Wpedantic -Werror $cflags "$source/examples/c/softmax_example.c" \
  -o "$work/c_example" $libs -lm
LD_LIBRARY_PATH="$(pkg-config --variable=libdir smx)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  "$work/c_example"

step "ok"
