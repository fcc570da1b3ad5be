// The NumPy .npy format (versions 1.0, 2.0 and 3.0) for little-endian f16, f32 and f64 arrays in C
// order, of any rank up to smx::kMaxRank.
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
#ifndef SMX_TOOLS_NPY_H_
#define SMX_TOOLS_NPY_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "array.h"

namespace smx_cli {

// Reads and checks a whole .npy file. Anything it cannot trust (bad magic, unknown version, a
// header that runs past the end of the file, a shape that does not match the data, a dtype other
// than
// '<f2', '<f4' and '<f8', Fortran order) is a RuntimeError naming `name` and the problem.
Array ParseNpy(std::string_view file, const std::string& name);
Array ReadNpy(const std::string& path);

// Writes `array` as .npy version 1.0 with `shape` (whose product must match the array's), so that
// logsumexp can drop the reduced axis. Atomic: see WriteFileAtomically.
void WriteNpy(const std::string& path, const Array& array, std::span<const std::int64_t> shape);

}  // namespace smx_cli

#endif  // SMX_TOOLS_NPY_H_
