// The golden cases of /work/shared/golden/public.jsonl (FORMAT.md), for the ops this suite runs:
// softmax, log_softmax and logsumexp (GoldenCase), sigmoid and log_sigmoid
// (GoldenElementwiseCase), the calculus, the losses and attention (GoldenTensorCase). The file is
// found through the SMX_GOLDEN_DIR environment variable, else the directory configured by CMake
// (SMX_GOLDEN_DIR_DEFAULT).
#ifndef SMX_TESTS_GOLDEN_H_
#define SMX_TESTS_GOLDEN_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "reference.h"
#include "test_util.h"

namespace smx_test {

struct GoldenCase {
  std::string id;
  Op op;
  std::string dtype;       // "f32" or "f64"
  double temperature = 1;  // params.T; 1 when absent (logsumexp)
  std::size_t rows = 0, k = 0;
  std::vector<double> z;  // [rows, k], row-major
  std::vector<double> expected;
  std::vector<std::int64_t> expected_shape;
  int ulp = 0;  // tol.value
};

// An elementwise op's case: out = op(x), any shape.
struct GoldenElementwiseCase {
  std::string id;
  std::string op;     // "sigmoid" or "log_sigmoid"
  std::string dtype;  // "f32" or "f64"
  std::vector<std::int64_t> shape;
  std::vector<double> x;
  std::vector<double> expected;
  int ulp = 0;  // tol.value
};

// Any other op's case, as the file gives it: named input and expected tensors, a relative
// tolerance (FORMAT.md: |got - exp| <= max(abs, rel |exp|)) or a ULP one.
struct GoldenTensor {
  std::vector<std::int64_t> shape;
  std::vector<double> data;
};
struct GoldenTensorCase {
  std::string id;
  std::string op;
  std::string dtype;  // "f32" or "f64"
  std::map<std::string, double> params;  // the numeric params ("T", "ignore_index")
  std::map<std::string, std::string> string_params;        // "reduction"
  std::map<std::string, std::vector<double>> list_params;  // "weight"
  std::map<std::string, GoldenTensor> inputs, expected;
  std::string tol_kind;  // "rel" or "ulp"
  double tol_value = 0, tol_abs = 0;
};

struct GoldenFile {
  std::string path;
  std::string error;                           // non-empty if the file could not be read or parsed
  std::vector<GoldenCase> cases;               // softmax, log_softmax, logsumexp
  std::vector<GoldenElementwiseCase> elementwise;  // sigmoid, log_sigmoid
  std::vector<GoldenTensorCase> tensor_cases;      // calculus, loss, attention ops (by name)
  std::map<std::string, std::size_t> not_run;  // other ops -> number of cases
  std::size_t total = 0;
};

// Loaded once per process.
const GoldenFile& Golden();

// Runs one case through the library in dtype T (which must match c.dtype) and compares every
// element with FORMAT.md's rules.
enum class GoldenLayout { kDirect, kTransposed, kInPlace };
const char* GoldenLayoutName(GoldenLayout layout);
template <typename T>
::testing::AssertionResult RunGoldenCase(const GoldenCase& c, GoldenLayout layout,
                                         std::vector<T>* output = nullptr);

}  // namespace smx_test

#endif  // SMX_TESTS_GOLDEN_H_
