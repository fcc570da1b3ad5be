// Sampling in smx._smx: sample, top_k_top_p_filter, gumbel_max and gumbel_softmax. The Python layer
// (python/smx/_sampling.py) checks the arguments, broadcasts the per-row parameters to one
// contiguous array each (length 1 for one value) and allocates the outputs; here they become
// smx::PerRow views and the kernel runs without the GIL.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "array.h"
#include "smx/sampling.h"

namespace smx_py {
namespace {

template <typename T>
using Column = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
template <typename T>
using OutColumn = nb::ndarray<T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

// One value for every row (length 1), or one per row.
template <typename T>
smx::PerRow<T> PerRowOf(const Column<T>& values) {
  if (values.shape(0) == 1) return smx::PerRow<T>(values.data()[0]);
  return smx::PerRow<T>(std::span<const T>(values.data(), values.shape(0)));
}

struct SamplingArgs {
  Column<double> temperature, top_p, min_p;
  Column<std::int64_t> top_k;
  std::uint64_t seed = 0, step = 0;
  std::optional<Column<std::uint64_t>> row_ids;

  smx::SamplingOptions Options() const {
    smx::SamplingOptions o;
    o.temperature = PerRowOf(temperature);
    o.top_k = PerRowOf(top_k);
    o.top_p = PerRowOf(top_p);
    o.min_p = PerRowOf(min_p);
    o.seed = seed;
    o.step = step;
    if (row_ids) o.row_ids = std::span<const std::uint64_t>(row_ids->data(), row_ids->shape(0));
    return o;
  }
};

smx::GumbelOptions GumbelOptionsOf(double temperature, bool hard, std::uint64_t seed,
                                   std::uint64_t step,
                                   const std::optional<Column<std::uint64_t>>& row_ids) {
  smx::GumbelOptions o;
  o.temperature = temperature;
  o.hard = hard;
  o.seed = seed;
  o.step = step;
  if (row_ids) o.row_ids = std::span<const std::uint64_t>(row_ids->data(), row_ids->shape(0));
  return o;
}

}  // namespace

void BindSampling(nb::module_& m) {
  m.def(
      "sample",
      [](const InArray& logits, const OutColumn<std::int64_t>& tokens,
         const std::optional<OutColumn<double>>& logprobs,
         const std::optional<OutColumn<double>>& raw_logprobs, const Column<double>& temperature,
         const Column<std::int64_t>& top_k, const Column<double>& top_p,
         const Column<double>& min_p, std::uint64_t seed, std::uint64_t step,
         const std::optional<Column<std::uint64_t>>& row_ids, const DTypeOverride& dtype) {
        const SamplingArgs args{temperature, top_p, min_p, top_k, seed, step, row_ids};
        const smx::SamplingOptions options = args.Options();
        const smx::ConstTensorRef x = InputRef(logits, dtype);
        std::span<std::int64_t> t(tokens.data(), tokens.shape(0));
        std::span<double> lp, raw;
        if (logprobs) lp = std::span<double>(logprobs->data(), logprobs->shape(0));
        if (raw_logprobs) raw = std::span<double>(raw_logprobs->data(), raw_logprobs->shape(0));
        smx::Status status;
        {
          nb::gil_scoped_release release;
          status = smx::sample(x, t, lp, raw, options);
        }
        ThrowIfError(status);
      },
      nb::arg("logits"), nb::arg("tokens"), nb::arg("logprobs").none(),
      nb::arg("raw_logprobs").none(), nb::arg("temperature"), nb::arg("top_k"), nb::arg("top_p"),
      nb::arg("min_p"), nb::arg("seed"), nb::arg("step"), nb::arg("row_ids").none(),
      nb::arg("dtype") = nb::none());

  m.def(
      "top_k_top_p_filter",
      [](const InArray& logits, const OutArray& out, bool probabilities,
         const Column<double>& temperature, const Column<std::int64_t>& top_k,
         const Column<double>& top_p, const Column<double>& min_p, const DTypeOverride& dtype) {
        const SamplingArgs args{temperature, top_p, min_p, top_k, 0, 0, std::nullopt};
        const smx::SamplingOptions options = args.Options();
        const smx::FilterOutput kind =
            probabilities ? smx::FilterOutput::kProbabilities : smx::FilterOutput::kLogits;
        RunOp(logits, out, dtype, /*allow_in_place=*/true,
              [&](const smx::ConstTensorRef& x, const smx::TensorRef& y) {
                return smx::top_k_top_p_filter(x, y, kind, options);
              });
      },
      nb::arg("logits"), nb::arg("out"), nb::arg("probabilities"), nb::arg("temperature"),
      nb::arg("top_k"), nb::arg("top_p"), nb::arg("min_p"), nb::arg("dtype") = nb::none());

  m.def(
      "gumbel_max",
      [](const InArray& logits, const OutColumn<std::int64_t>& tokens, double temperature,
         std::uint64_t seed, std::uint64_t step,
         const std::optional<Column<std::uint64_t>>& row_ids, const DTypeOverride& dtype) {
        const smx::GumbelOptions options = GumbelOptionsOf(temperature, false, seed, step, row_ids);
        const smx::ConstTensorRef x = InputRef(logits, dtype);
        std::span<std::int64_t> t(tokens.data(), tokens.shape(0));
        smx::Status status;
        {
          nb::gil_scoped_release release;
          status = smx::gumbel_max(x, t, options);
        }
        ThrowIfError(status);
      },
      nb::arg("logits"), nb::arg("tokens"), nb::arg("temperature"), nb::arg("seed"),
      nb::arg("step"), nb::arg("row_ids").none(), nb::arg("dtype") = nb::none());

  m.def(
      "gumbel_softmax",
      [](const InArray& logits, const OutArray& out, double tau, bool hard, std::uint64_t seed,
         std::uint64_t step, const std::optional<Column<std::uint64_t>>& row_ids,
         const DTypeOverride& dtype) {
        const smx::GumbelOptions options = GumbelOptionsOf(tau, hard, seed, step, row_ids);
        RunOp(logits, out, dtype, /*allow_in_place=*/true,
              [&](const smx::ConstTensorRef& x, const smx::TensorRef& y) {
                return smx::gumbel_softmax(x, y, options);
              });
      },
      nb::arg("logits"), nb::arg("out"), nb::arg("tau"), nb::arg("hard"), nb::arg("seed"),
      nb::arg("step"), nb::arg("row_ids").none(), nb::arg("dtype") = nb::none());
}

}  // namespace smx_py
