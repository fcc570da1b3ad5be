#include "golden.h"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

namespace smx_test {
namespace {

double Number(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  const std::string s = v.get<std::string>();
  if (s == "inf") return kInf;
  if (s == "-inf") return -kInf;
  if (s == "nan") return kNaN;
  throw std::runtime_error("bad number '" + s + "'");
}

std::vector<double> Numbers(const nlohmann::json& a) {
  std::vector<double> v;
  v.reserve(a.size());
  for (const auto& x : a) v.push_back(Number(x));
  return v;
}

GoldenFile Load() {
  GoldenFile f;
  const char* env = std::getenv("SMX_GOLDEN_DIR");
  const std::string dir = (env && *env) ? env : SMX_GOLDEN_DIR_DEFAULT;
  f.path = dir + "/public.jsonl";
  std::ifstream in(f.path);
  if (!in) {
    f.error = "cannot open " + f.path + " (set SMX_GOLDEN_DIR)";
    return f;
  }
  std::string line;
  std::size_t line_no = 0;
  try {
    while (std::getline(in, line)) {
      ++line_no;
      if (line.empty()) continue;
      const auto j = nlohmann::json::parse(line);
      ++f.total;
      const std::string op = j.at("op");
      GoldenCase c;
      if (op == "softmax") {
        c.op = Op::kSoftmax;
      } else if (op == "log_softmax") {
        c.op = Op::kLogSoftmax;
      } else if (op == "logsumexp") {
        c.op = Op::kLogSumExp;
      } else if (op == "sigmoid" || op == "log_sigmoid") {
        GoldenElementwiseCase e;
        e.id = j.at("id");
        e.op = op;
        e.dtype = j.at("dtype");
        const auto& x = j.at("inputs").at("x");
        e.shape = x.at("shape").get<std::vector<std::int64_t>>();
        e.x = Numbers(x.at("data"));
        const auto& out = j.at("expected").at("out");
        if (out.at("shape").get<std::vector<std::int64_t>>() != e.shape) {
          throw std::runtime_error(e.id + ": out and x differ in shape");
        }
        e.expected = Numbers(out.at("data"));
        const auto& tol = j.at("tol");
        if (tol.at("kind") != "ulp") throw std::runtime_error(e.id + ": tol kind is not ulp");
        e.ulp = tol.at("value").get<int>();
        f.elementwise.push_back(std::move(e));
        continue;
      } else if (op == "softmax_jacobian" || op == "softmax_vjp" || op == "log_softmax_vjp" ||
                 op == "entropy" || op == "cross_entropy" || op == "cross_entropy_probs" ||
                 op == "kl_div_distill" || op == "attention") {
        GoldenTensorCase t;
        t.id = j.at("id");
        t.op = op;
        t.dtype = j.at("dtype");
        for (const auto& [name, value] : j.at("params").items()) {
          if (value.is_boolean()) {
            t.params[name] = value.get<bool>() ? 1 : 0;  // attention's "causal"
          } else if (value.is_array()) {
            t.list_params[name] = Numbers(value);
          } else if (value.is_string() && value != "inf" && value != "-inf" && value != "nan") {
            t.string_params[name] = value.get<std::string>();
          } else if (value.is_number() || value.is_string()) {
            t.params[name] = Number(value);
          }
        }
        auto tensors = [](const nlohmann::json& group) {
          std::map<std::string, GoldenTensor> out;
          for (const auto& [name, value] : group.items()) {
            out[name] = {value.at("shape").get<std::vector<std::int64_t>>(),
                         Numbers(value.at("data"))};
          }
          return out;
        };
        t.inputs = tensors(j.at("inputs"));
        t.expected = tensors(j.at("expected"));
        const auto& tol = j.at("tol");
        t.tol_kind = tol.at("kind");
        t.tol_value = tol.at("value").get<double>();
        if (tol.contains("abs")) t.tol_abs = tol.at("abs").get<double>();
        f.tensor_cases.push_back(std::move(t));
        continue;
      } else {
        ++f.not_run[op];
        continue;
      }
      c.id = j.at("id");
      c.dtype = j.at("dtype");
      const auto& params = j.at("params");
      if (params.contains("T")) c.temperature = Number(params.at("T"));
      const auto& z = j.at("inputs").at("z");
      const auto shape = z.at("shape").get<std::vector<std::int64_t>>();
      if (shape.size() != 2) throw std::runtime_error(c.id + ": z is not 2-d");
      c.rows = static_cast<std::size_t>(shape[0]);
      c.k = static_cast<std::size_t>(shape[1]);
      c.z = Numbers(z.at("data"));
      const auto& out = j.at("expected").at("out");
      c.expected_shape = out.at("shape").get<std::vector<std::int64_t>>();
      c.expected = Numbers(out.at("data"));
      const auto& tol = j.at("tol");
      if (tol.at("kind") != "ulp") throw std::runtime_error(c.id + ": tol kind is not ulp");
      c.ulp = tol.at("value").get<int>();
      f.cases.push_back(std::move(c));
    }
  } catch (const std::exception& e) {
    f.error = f.path + ":" + std::to_string(line_no) + ": " + e.what();
  }
  return f;
}

}  // namespace

const GoldenFile& Golden() {
  static const GoldenFile file = Load();
  return file;
}

const char* GoldenLayoutName(GoldenLayout layout) {
  switch (layout) {
    case GoldenLayout::kDirect: return "direct";
    case GoldenLayout::kTransposed: return "transposed [K, rows] axis=0";
    case GoldenLayout::kInPlace: return "in-place";
  }
  return "?";
}

template <typename T>
::testing::AssertionResult RunGoldenCase(const GoldenCase& c, GoldenLayout layout,
                                         std::vector<T>* output) {
  const std::size_t rows = c.rows, k = c.k, n = rows * k;
  const bool reduce = c.op == Op::kLogSumExp;
  const std::size_t n_out = reduce ? rows : n;
  const std::string label = c.id + " (" + GoldenLayoutName(layout) + ")";
  if (c.expected.size() != n_out || c.z.size() != n) {
    return ::testing::AssertionFailure() << label << ": sizes in the file do not match";
  }
  if (layout == GoldenLayout::kInPlace && reduce) {
    return ::testing::AssertionFailure() << label << ": no in-place logsumexp";
  }
  std::vector<T> z(n);
  for (std::size_t i = 0; i < n; ++i) z[i] = static_cast<T>(c.z[i]);  // exact (FORMAT.md)
  Buffer<T> x(n), y(layout == GoldenLayout::kInPlace ? 0 : n_out);
  std::vector<T> got(n_out);
  smx::Status s;
  const std::int64_t rk[2] = {static_cast<std::int64_t>(rows), static_cast<std::int64_t>(k)};
  const std::int64_t kr[2] = {static_cast<std::int64_t>(k), static_cast<std::int64_t>(rows)};
  const std::int64_t r1[1] = {static_cast<std::int64_t>(rows)};
  switch (layout) {
    case GoldenLayout::kDirect: {
      x.Assign(z);
      s = RunOp<T>(c.op, smx::TensorView<const T>(x.data(), rk),
                   reduce ? smx::TensorView<T>(y.data(), r1) : smx::TensorView<T>(y.data(), rk),
                   c.temperature, -1);
      for (std::size_t i = 0; i < n_out; ++i) got[i] = y[i];
      break;
    }
    case GoldenLayout::kTransposed: {
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t j = 0; j < k; ++j) x[j * rows + r] = z[r * k + j];
      }
      s = RunOp<T>(c.op, smx::TensorView<const T>(x.data(), kr),
                   reduce ? smx::TensorView<T>(y.data(), r1) : smx::TensorView<T>(y.data(), kr),
                   c.temperature, 0);
      if (reduce) {
        for (std::size_t r = 0; r < rows; ++r) got[r] = y[r];
      } else {
        for (std::size_t r = 0; r < rows; ++r) {
          for (std::size_t j = 0; j < k; ++j) got[r * k + j] = y[j * rows + r];
        }
      }
      break;
    }
    case GoldenLayout::kInPlace: {
      x.Assign(z);
      s = RunOp<T>(c.op, smx::TensorView<const T>(x.data(), rk), smx::TensorView<T>(x.data(), rk),
                   c.temperature, -1);
      for (std::size_t i = 0; i < n_out; ++i) got[i] = x[i];
      break;
    }
  }
  if (!s.ok()) return ::testing::AssertionFailure() << label << ": status " << s.message();
  if (!x.GuardsIntact() || !y.GuardsIntact()) {
    return ::testing::AssertionFailure() << label << ": wrote outside the output";
  }
  if (layout != GoldenLayout::kInPlace) {
    for (std::size_t i = 0; i < n; ++i) {
      if (BitsOf(x[i]) !=
          BitsOf(layout == GoldenLayout::kDirect ? z[i] : z[(i % rows) * k + i / rows])) {
        return ::testing::AssertionFailure() << label << ": the input was modified at " << i;
      }
    }
  }
  if (output) *output = got;
  std::vector<ld> want(c.expected.begin(), c.expected.end());
  return MatchesReference(label, got.data(), want.data(), n_out, c.ulp);
}

template ::testing::AssertionResult RunGoldenCase<float>(const GoldenCase&, GoldenLayout,
                                                         std::vector<float>*);
template ::testing::AssertionResult RunGoldenCase<double>(const GoldenCase&, GoldenLayout,
                                                          std::vector<double>*);

}  // namespace smx_test
