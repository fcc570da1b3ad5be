// The NumPy .npy format (versions 1.0, 2.0 and 3.0) for little-endian f16, f32 and f64 arrays in C
// order, of any rank up to smx::kMaxRank.
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
#ifndef SMX_TOOLS_NPY_H_
#define SMX_TOOLS_NPY_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "array.h"
#include "file_io.h"

namespace smx_cli {

// Reads and checks a whole .npy file. Anything it cannot trust (bad magic, unknown version, a
// header that runs past the end of the file, a shape that does not match the data, a dtype other
// than
// '<f2', '<f4' and '<f8', Fortran order) is a RuntimeError naming `name` and the problem.
Array ParseNpy(std::string_view file, const std::string& name);
Array ReadNpy(const std::string& path);

// Integers widened to int64, e.g. class indices; shape as in the file.
struct IndexArray {
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> values;  // row-major
};

// Whether the .npy `file` holds integers: signed or unsigned, 1, 2, 4 or 8 bytes, little-endian
// ('<i8', '<i4', '<i2', '|i1', '<u8', ..., '|u1'). Header errors are ParseNpy's.
bool NpyHoldsIntegers(std::string_view file, const std::string& name);
// Reads such a file; any other dtype, and an unsigned value above 2^63 - 1, is a RuntimeError.
IndexArray ParseNpyIndices(std::string_view file, const std::string& name);

// Whether the .npy `file` holds booleans ('|b1'), e.g. an attention mask; and its values as bytes
// (0 or 1), shape as in the file. Any other dtype is a RuntimeError.
bool NpyHoldsBooleans(std::string_view file, const std::string& name);
struct BoolArray {
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> values;  // row-major
};
BoolArray ParseNpyBooleans(std::string_view file, const std::string& name);

// Writes `array` as .npy version 1.0 with `shape` (whose product must match the array's), so that
// logsumexp can drop the reduced axis. Atomic: see WriteFileAtomically.
void WriteNpy(const std::string& path, const Array& array, std::span<const std::int64_t> shape);
// WriteNpy's first half: the file staged, to be committed with others (see StagedFile).
StagedFile StageNpy(const std::string& path, const Array& array,
                    std::span<const std::int64_t> shape);

// The same for int64 values ('<i8'), e.g. sampled token ids.
StagedFile StageNpyIndices(const std::string& path, const IndexArray& array);

}  // namespace smx_cli

#endif  // SMX_TOOLS_NPY_H_
