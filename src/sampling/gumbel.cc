// Gumbel-max and Gumbel-softmax (smx/sampling.h): per row, every logit perturbed by its own
// Gumbel noise from the row's Philox stream, in f64.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/layout.h"
#include "sampling/batch.h"
#include "sampling/kernels.h"
#include "sampling/philox.h"
#include "smx/sampling.h"

namespace smx {
namespace {

using internal::Batch;

constexpr double kInf = std::numeric_limits<double>::infinity();

// One thread's rows: the logits staged as f64, and their perturbed values.
struct Staging {
  std::vector<double> logits;
  std::vector<double> row;
};

Status CheckGumbel(const char* op, const GumbelOptions& o, const Batch& b, bool softmax) {
  const double t = o.temperature;
  if (softmax ? !(t > 0 && t < kInf) : !(t >= 0)) {
    return Status::InvalidArgument(
        std::string(op) + ": temperature = " + std::to_string(t) +
        (softmax ? " must be finite and > 0" : " must be >= 0 (0 is greedy, inf uniform)"));
  }
  if (o.step > std::numeric_limits<std::uint32_t>::max()) {
    return Status::InvalidArgument(std::string(op) + ": step = " + std::to_string(o.step) +
                                   " must be below 2^32 (it is one word of Philox's counter)");
  }
  if (b.length > (std::int64_t{1} << 32)) {
    return Status::InvalidArgument(std::string(op) + ": V = " + std::to_string(b.length) +
                                   " is above 2^32, the tokens one Philox stream numbers");
  }
  if (!o.row_ids.empty())
    return internal::CheckSpan(op, "row_ids", o.row_ids.size(), b.rows, false);
  return Status::Ok();
}

// The row's perturbed logits v_i = z_i / T + G_i (T = 0: z_i; T = inf: G_i on finite z_i),
// -inf for -inf logits; or what is wrong with the row.
std::string Perturbed(const double* z, std::size_t n, double t, const GumbelOptions& o,
                      std::uint64_t row_id, std::vector<double>& v) {
  bool finite = false;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(z[i]) || z[i] == kInf) return "holds NaN or +inf";
    finite = finite || z[i] > -kInf;
  }
  if (!finite) return "has no finite logit";
  v.resize(n);
  if (t == 0) {  // greedy: no noise
    std::copy(z, z + n, v.begin());
    return {};
  }
  internal::GetSamplingKernels().gumbel_noise(o.seed, row_id, static_cast<std::uint32_t>(o.step),
                                              v.data(), n);
  const double inv_t = t == kInf ? 0.0 : 1 / t;
  for (std::size_t i = 0; i < n; ++i) {
    const double scaled = t == 1 ? z[i] : t == kInf ? 0.0 : z[i] * inv_t;
    v[i] = z[i] == -kInf ? -kInf : scaled + v[i];
  }
  return {};
}

std::size_t ArgMax(const std::vector<double>& v) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < v.size(); ++i) {
    if (v[i] > v[best]) best = i;
  }
  return best;
}

std::uint64_t RowIdOf(const GumbelOptions& o, std::int64_t r) {
  return o.row_ids.empty() ? static_cast<std::uint64_t>(r) : o.row_ids[static_cast<std::size_t>(r)];
}

}  // namespace

Status gumbel_max(const ConstTensorRef& logits, std::span<std::int64_t> tokens,
                  const GumbelOptions& options) {
  constexpr const char* kOp = "gumbel_max";
  Batch b;
  if (Status s = internal::PlanBatch(kOp, "logits", logits, b); !s.ok()) return s;
  if (Status s = CheckGumbel(kOp, options, b, false); !s.ok()) return s;
  if (Status s = internal::CheckSpan(kOp, "tokens", tokens.size(), b.rows, false); !s.ok()) {
    return s;
  }
  std::vector<std::int64_t> drawn(static_cast<std::size_t>(b.rows));
  const Status status = internal::ForEachRow<Staging>(kOp, b, [&](Staging& st, std::int64_t r) {
    const double* z = internal::RowOf<double>(logits, b, r, st.logits);
    std::string problem = Perturbed(z, static_cast<std::size_t>(b.length), options.temperature,
                                    options, RowIdOf(options, r), st.row);
    if (problem.empty())
      drawn[static_cast<std::size_t>(r)] = static_cast<std::int64_t>(ArgMax(st.row));
    return problem;
  });
  if (!status.ok()) return status;
  std::copy(drawn.begin(), drawn.end(), tokens.begin());
  return Status::Ok();
}

Status gumbel_softmax(const ConstTensorRef& logits, const TensorRef& out,
                      const GumbelOptions& options) {
  constexpr const char* kOp = "gumbel_softmax";
  Batch b, ob;
  if (Status s = internal::PlanBatch(kOp, "logits", logits, b); !s.ok()) return s;
  if (Status s = internal::PlanBatch(kOp, "out", out, ob); !s.ok()) return s;
  if (out.dtype != logits.dtype || out.layout.rank != logits.layout.rank || ob.rows != b.rows ||
      ob.length != b.length) {
    return Status::InvalidArgument(std::string(kOp) +
                                   ": out must have the logits' dtype and shape");
  }
  const bool same =
      out.data == logits.data && ob.row_stride == b.row_stride && ob.col_stride == b.col_stride;
  if (!same && internal::ViewsOverlap(logits, out)) {
    return Status::InvalidArgument(std::string(kOp) +
                                   ": out overlaps the logits without being them");
  }
  if (Status s = CheckGumbel(kOp, options, b, true); !s.ok()) return s;
  // Every row is computed before any is written: an error leaves out untouched.
  const std::size_t n = static_cast<std::size_t>(b.length);
  std::vector<double> y(static_cast<std::size_t>(b.rows) * n);
  const Status status = internal::ForEachRow<Staging>(kOp, b, [&](Staging& st, std::int64_t r) {
    const double* z = internal::RowOf<double>(logits, b, r, st.logits);
    std::string problem =
        Perturbed(z, n, options.temperature, options, RowIdOf(options, r), st.row);
    if (!problem.empty()) return problem;
    double* row = y.data() + static_cast<std::size_t>(r) * n;
    const std::size_t best = ArgMax(st.row);
    if (options.hard) {
      for (std::size_t i = 0; i < n; ++i) row[i] = i == best ? 1.0 : 0.0;
      return problem;
    }
    const double m = st.row[best];
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += row[i] = std::exp(st.row[i] - m);
    for (std::size_t i = 0; i < n; ++i) row[i] /= sum;
    return problem;
  });
  if (!status.ok()) return status;
  internal::VisitStorage(out.dtype, [&](auto s) {
    using S = decltype(s);
    S* base = static_cast<S*>(out.data);
    for (std::int64_t r = 0; r < b.rows; ++r) {
      for (std::int64_t i = 0; i < b.length; ++i) {
        const double v = y[static_cast<std::size_t>(r) * n + static_cast<std::size_t>(i)];
        base[r * ob.row_stride + i * ob.col_stride] =
            internal::FromCompute<S>(static_cast<internal::ComputeType<S>>(v));
      }
    }
  });
  return Status::Ok();
}

}  // namespace smx
