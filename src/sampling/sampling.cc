// Public entry points of sampling: argument checks, the rows spread over threads, each row
// staged into its compute type when it is not already a contiguous row of it.
#include "smx/sampling.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/layout.h"
#include "core/parallel.h"
#include "sampling/batch.h"
#include "sampling/row_sampler.h"

namespace smx {
namespace {

using internal::Batch;
using internal::CheckSpan;
using internal::PlanBatch;
using internal::RowOf;
using internal::RowParams;

template <typename T>
Status CheckPerRow(const char* op, const char* name, const PerRow<T>& values, std::int64_t rows,
                   bool (*valid)(T), const char* rule) {
  if (values.per_row() && static_cast<std::int64_t>(values.size()) != rows) {
    return Status::InvalidArgument(std::string(op) + ": " + name + " has " +
                                   std::to_string(values.size()) + " values for " +
                                   std::to_string(rows) + " rows");
  }
  const std::int64_t count = values.per_row() ? rows : 1;
  for (std::int64_t r = 0; r < count; ++r) {
    const T v = values.at(r);
    if (!valid(v)) {
      std::string where =
          values.per_row() ? std::string(name) + "[" + std::to_string(r) + "]" : name;
      return Status::InvalidArgument(std::string(op) + ": " + where + " = " + std::to_string(v) +
                                     " " + rule);
    }
  }
  return Status::Ok();
}

Status CheckOptions(const char* op, const SamplingOptions& o, std::int64_t rows) {
  Status s = CheckPerRow<double>(
      op, "temperature", o.temperature, rows, [](double t) { return t >= 0; },
      "must be >= 0 (0 is greedy, inf uniform)");
  if (s.ok()) {
    s = CheckPerRow<std::int64_t>(
        op, "top_k", o.top_k, rows, [](std::int64_t k) { return k >= 0; },
        "must be >= 0 (0 keeps every token)");
  }
  if (s.ok()) {
    s = CheckPerRow<double>(
        op, "top_p", o.top_p, rows, [](double p) { return p > 0 && p <= 1; },
        "must be in (0, 1] (1 keeps every token)");
  }
  if (s.ok()) {
    s = CheckPerRow<double>(
        op, "min_p", o.min_p, rows, [](double p) { return p >= 0 && p <= 1; },
        "must be in [0, 1] (0 keeps every token)");
  }
  return s;
}

RowParams ParamsOf(const SamplingOptions& o, std::int64_t row) {
  return {o.temperature.at(row), o.top_k.at(row), o.top_p.at(row), o.min_p.at(row)};
}

// Whether row r is computed in f64: f64 logits, or a temperature f32 cannot divide by exactly.
bool NeedsDouble(DType dtype, double temperature) {
  if (dtype == DType::kF64) return true;
  if (temperature == 0 || std::isinf(temperature)) return false;
  return !internal::TemperatureFits<float>(temperature) &&
         internal::TemperatureFits<double>(temperature);
}

// How the threads go: across rows, or (fewer rows than threads, and rows of several chunks)
// within each row, one row at a time.
struct RowThreads {
  int across_rows = 0;  // 0: ForEachRow's choice
  int per_row = 1;
};

RowThreads SplitThreads(const Batch& b) {
  const std::int64_t chunks = (b.length + static_cast<std::int64_t>(internal::kSamplingChunk) - 1) /
                              static_cast<std::int64_t>(internal::kSamplingChunk);
  if (b.rows >= internal::NumThreads() || chunks < 2) return {};
  return {1, internal::ThreadsFor(b.length, chunks)};
}

// One thread's samplers and staging rows.
struct ThreadState {
  internal::RowSampler<float> f32{internal::GetSamplingKernels().f32, internal::Kernels().f32};
  internal::RowSampler<double> f64{internal::GetSamplingKernels().f64, internal::Kernels().f64};
  std::vector<float> stage_f32, out_f32;
  std::vector<double> stage_f64, out_f64;

  template <typename C>
  internal::RowSampler<C>& Sampler() {
    if constexpr (std::is_same_v<C, float>) {
      return f32;
    } else {
      return f64;
    }
  }
  template <typename C>
  std::vector<C>& Stage() {
    if constexpr (std::is_same_v<C, float>) {
      return stage_f32;
    } else {
      return stage_f64;
    }
  }
  template <typename C>
  std::vector<C>& Out() {
    if constexpr (std::is_same_v<C, float>) {
      return out_f32;
    } else {
      return out_f64;
    }
  }
};

}  // namespace

Status sample(const ConstTensorRef& logits, std::span<std::int64_t> tokens,
              std::span<double> logprobs, std::span<double> raw_logprobs,
              const SamplingOptions& options) {
  constexpr const char* kOp = "sample";
  Batch b;
  if (Status s = PlanBatch(kOp, "logits", logits, b); !s.ok()) return s;
  if (Status s = CheckOptions(kOp, options, b.rows); !s.ok()) return s;
  if (Status s = CheckSpan(kOp, "tokens", tokens.size(), b.rows, false); !s.ok()) return s;
  if (Status s = CheckSpan(kOp, "logprobs", logprobs.size(), b.rows, true); !s.ok()) return s;
  if (Status s = CheckSpan(kOp, "raw_logprobs", raw_logprobs.size(), b.rows, true); !s.ok()) {
    return s;
  }
  if (!options.row_ids.empty()) {
    if (Status s = CheckSpan(kOp, "row_ids", options.row_ids.size(), b.rows, false); !s.ok()) {
      return s;
    }
  }
  if (options.step > std::numeric_limits<std::uint32_t>::max()) {
    return Status::InvalidArgument(std::string(kOp) + ": step = " + std::to_string(options.step) +
                                   " must be below 2^32 (it is one word of Philox's counter)");
  }
  const bool want_logprobs = !logprobs.empty() || !raw_logprobs.empty();
  std::vector<internal::RowDraw> draws(static_cast<std::size_t>(b.rows));
  // Fewer rows than threads: the rows one after another, each row's chunks over the threads.
  const RowThreads split = SplitThreads(b);
  Status status = internal::ForEachRow<ThreadState>(
      kOp, b,
      [&](ThreadState& state, std::int64_t r) {
        const RowParams params = ParamsOf(options, r);
        const std::uint64_t row_id = options.row_ids.empty()
                                         ? static_cast<std::uint64_t>(r)
                                         : options.row_ids[static_cast<std::size_t>(r)];
        const internal::RowRandom random(options.seed, row_id,
                                         static_cast<std::uint32_t>(options.step));
        const std::size_t n = static_cast<std::size_t>(b.length);
        internal::RowDraw& draw = draws[static_cast<std::size_t>(r)];
        auto run = [&](auto compute) {
          using C = decltype(compute);
          const C* x = RowOf<C>(logits, b, r, state.Stage<C>());
          internal::RowSampler<C>& sampler = state.Sampler<C>();
          sampler.set_threads(split.per_row);
          return sampler.Sample(x, n, params, random, want_logprobs, draw);
        };
        return NeedsDouble(logits.dtype, params.temperature) ? run(double{}) : run(float{});
      },
      split.across_rows);
  if (!status.ok()) return status;
  for (std::int64_t r = 0; r < b.rows; ++r) {
    const internal::RowDraw& d = draws[static_cast<std::size_t>(r)];
    tokens[static_cast<std::size_t>(r)] = d.token;
    if (!logprobs.empty()) logprobs[static_cast<std::size_t>(r)] = d.logprob;
    if (!raw_logprobs.empty()) raw_logprobs[static_cast<std::size_t>(r)] = d.raw_logprob;
  }
  return Status::Ok();
}

Status sample(const ConstTensorRef& logits, std::span<std::int64_t> tokens,
              const SamplingOptions& options) {
  return sample(logits, tokens, {}, {}, options);
}

Status top_k_top_p_filter(const ConstTensorRef& logits, const TensorRef& out, FilterOutput output,
                          const SamplingOptions& options) {
  constexpr const char* kOp = "top_k_top_p_filter";
  Batch b, ob;
  if (Status s = PlanBatch(kOp, "logits", logits, b); !s.ok()) return s;
  if (Status s = PlanBatch(kOp, "out", out, ob); !s.ok()) return s;
  if (out.dtype != logits.dtype || out.layout.rank != logits.layout.rank || ob.rows != b.rows ||
      ob.length != b.length) {
    return Status::InvalidArgument(
        std::string(kOp) + ": out (" + dtype_name(out.dtype) + " " +
        internal::ShapeString(out.layout) + ") must have the logits' dtype and shape (" +
        dtype_name(logits.dtype) + " " + internal::ShapeString(logits.layout) + ")");
  }
  const bool same =
      out.data == logits.data && ob.row_stride == b.row_stride && ob.col_stride == b.col_stride;
  if (!same && internal::ViewsOverlap(logits, out)) {
    return Status::InvalidArgument(std::string(kOp) +
                                   ": out overlaps the logits without being them");
  }
  if (Status s = CheckOptions(kOp, options, b.rows); !s.ok()) return s;
  // The rows are filtered into staging rows first, so that an error in a later row leaves out
  // unwritten: rows * V compute elements of scratch, the price of "nothing written".
  std::vector<std::vector<double>> rows_f64;
  std::vector<std::vector<float>> rows_f32;
  const bool f64 = logits.dtype == DType::kF64;
  (f64 ? rows_f64.resize(static_cast<std::size_t>(b.rows))
       : rows_f32.resize(static_cast<std::size_t>(b.rows)));
  Status status =
      internal::ForEachRow<ThreadState>(kOp, b, [&](ThreadState& state, std::int64_t r) {
        const RowParams params = ParamsOf(options, r);
        const std::size_t n = static_cast<std::size_t>(b.length);
        auto run = [&](auto compute) {
          using C = decltype(compute);
          const C* x = RowOf<C>(logits, b, r, state.Stage<C>());
          std::vector<C>& result = state.Out<C>();
          result.resize(n);
          std::string problem = state.Sampler<C>().Filter(x, n, params, output, result.data());
          if (!problem.empty()) return problem;
          if (f64) {
            rows_f64[static_cast<std::size_t>(r)].assign(result.begin(), result.end());
          } else {
            rows_f32[static_cast<std::size_t>(r)].assign(result.begin(), result.end());
          }
          return std::string();
        };
        return NeedsDouble(logits.dtype, params.temperature) ? run(double{}) : run(float{});
      });
  if (!status.ok()) return status;
  internal::VisitStorage(out.dtype, [&](auto s) {
    using S = decltype(s);
    S* base = static_cast<S*>(out.data);
    for (std::int64_t r = 0; r < b.rows; ++r) {
      S* row = base + r * ob.row_stride;
      for (std::int64_t i = 0; i < b.length; ++i) {
        const std::size_t ri = static_cast<std::size_t>(r), ii = static_cast<std::size_t>(i);
        if constexpr (std::is_same_v<S, double>) {
          row[i * ob.col_stride] = rows_f64[ri][ii];
        } else {
          row[i * ob.col_stride] = internal::FromCompute<S>(rows_f32[ri][ii]);
        }
      }
    }
  });
  return Status::Ok();
}

}  // namespace smx
