// The C API of sampling (include/smx/smx.h): each function is the C++ call of smx/sampling.h
// inside capi::Guard.
#include <cstdint>
#include <span>
#include <string>

#include "capi/capi_util.h"
#include "smx/sampling.h"
#include "smx/smx.h"

namespace smx::capi {
namespace {

template <typename T>
PerRow<T> PerRowOf(T value, const T* values, std::int64_t rows) {
  if (values == nullptr) return PerRow<T>(value);
  return PerRow<T>(std::span<const T>(values, static_cast<std::size_t>(rows)));
}

// The C options as C++ ones; per-row arrays and row ids hold num_rows values.
SamplingOptions ToOptions(const smx_sampling_options* c, std::int64_t rows) {
  const smx_sampling_options o = c != nullptr ? *c : smx_sampling_defaults();
  SamplingOptions options;
  options.temperature = PerRowOf(o.temperature, o.temperatures, rows);
  options.top_k = PerRowOf<std::int64_t>(o.top_k, o.top_ks, rows);
  options.top_p = PerRowOf(o.top_p, o.top_ps, rows);
  options.min_p = PerRowOf(o.min_p, o.min_ps, rows);
  options.seed = o.seed;
  options.step = o.step;
  if (o.row_ids != nullptr) {
    options.row_ids = std::span<const std::uint64_t>(o.row_ids, static_cast<std::size_t>(rows));
  }
  return options;
}

// The batch of a logits view: its first size, or 1 for a single row.
std::int64_t RowsOf(const ConstTensorRef& z) { return z.layout.rank == 2 ? z.layout.shape[0] : 1; }

}  // namespace
}  // namespace smx::capi

extern "C" {

smx_sampling_options smx_sampling_defaults(void) {
  return {1.0, nullptr, 0, nullptr, 1.0, nullptr, 0.0, nullptr, 0, 0, nullptr};
}

smx_status smx_sample(const smx_tensor* logits, int64_t* tokens, double* logprobs,
                      double* raw_logprobs, int64_t num_rows, const smx_sampling_options* options) {
  constexpr const char* kFn = "smx_sample";
  return smx::capi::Guard(kFn, [&]() -> smx::Status {
    smx::ConstTensorRef z;
    if (smx::Status s = smx::capi::ToConstRef(kFn, "logits", logits, z); !s.ok()) return s;
    if (num_rows < 0 || (tokens == nullptr && num_rows > 0) ||
        (z.layout.rank >= 1 && z.layout.rank <= 2 && num_rows != smx::capi::RowsOf(z))) {
      return smx::Status::InvalidArgument(std::string(kFn) + ": num_rows (" +
                                          std::to_string(num_rows) +
                                          ") must be the logits' rows and tokens must not be null");
    }
    const std::size_t n = static_cast<std::size_t>(num_rows);
    const std::span<std::int64_t> t(tokens, n);
    const std::span<double> lp(logprobs, logprobs != nullptr ? n : 0);
    const std::span<double> raw(raw_logprobs, raw_logprobs != nullptr ? n : 0);
    return smx::sample(z, t, lp, raw, smx::capi::ToOptions(options, num_rows));
  });
}

smx_status smx_top_k_top_p_filter(const smx_tensor* logits, const smx_tensor* out, int32_t output,
                                  const smx_sampling_options* options) {
  constexpr const char* kFn = "smx_top_k_top_p_filter";
  return smx::capi::Guard(kFn, [&]() -> smx::Status {
    smx::ConstTensorRef z;
    smx::TensorRef y;
    if (smx::Status s = smx::capi::ToConstRef(kFn, "logits", logits, z); !s.ok()) return s;
    if (smx::Status s = smx::capi::ToRef(kFn, "out", out, y); !s.ok()) return s;
    if (output != SMX_FILTER_PROBABILITIES && output != SMX_FILTER_LOGITS) {
      return smx::Status::InvalidArgument(
          std::string(kFn) + ": output " + std::to_string(output) +
          " is not an smx_filter_output (0 probabilities, 1 logits)");
    }
    const smx::FilterOutput kind = output == SMX_FILTER_PROBABILITIES
                                       ? smx::FilterOutput::kProbabilities
                                       : smx::FilterOutput::kLogits;
    return smx::top_k_top_p_filter(z, y, kind, smx::capi::ToOptions(options, smx::capi::RowsOf(z)));
  });
}

smx_status smx_gumbel_max(const smx_tensor* logits, int64_t* tokens, int64_t num_rows,
                          double temperature, uint64_t seed, uint64_t step,
                          const uint64_t* row_ids) {
  constexpr const char* kFn = "smx_gumbel_max";
  return smx::capi::Guard(kFn, [&]() -> smx::Status {
    smx::ConstTensorRef z;
    if (smx::Status s = smx::capi::ToConstRef(kFn, "logits", logits, z); !s.ok()) return s;
    if (num_rows < 0 || (tokens == nullptr && num_rows > 0)) {
      return smx::Status::InvalidArgument(std::string(kFn) + ": tokens is null or num_rows (" +
                                          std::to_string(num_rows) + ") is negative");
    }
    smx::GumbelOptions o;
    o.temperature = temperature;
    o.seed = seed;
    o.step = step;
    if (row_ids != nullptr) {
      o.row_ids = std::span<const std::uint64_t>(row_ids, static_cast<std::size_t>(num_rows));
    }
    return smx::gumbel_max(z, std::span<std::int64_t>(tokens, static_cast<std::size_t>(num_rows)),
                           o);
  });
}

smx_status smx_gumbel_softmax(const smx_tensor* logits, const smx_tensor* out, double tau,
                              int32_t hard, uint64_t seed, uint64_t step, const uint64_t* row_ids) {
  constexpr const char* kFn = "smx_gumbel_softmax";
  return smx::capi::Guard(kFn, [&]() -> smx::Status {
    smx::ConstTensorRef z;
    smx::TensorRef y;
    if (smx::Status s = smx::capi::ToConstRef(kFn, "logits", logits, z); !s.ok()) return s;
    if (smx::Status s = smx::capi::ToRef(kFn, "out", out, y); !s.ok()) return s;
    smx::GumbelOptions o;
    o.temperature = tau;
    o.hard = hard != 0;
    o.seed = seed;
    o.step = step;
    if (row_ids != nullptr) {
      o.row_ids =
          std::span<const std::uint64_t>(row_ids, static_cast<std::size_t>(smx::capi::RowsOf(z)));
    }
    return smx::gumbel_softmax(z, y, o);
  });
}

}  // extern "C"
