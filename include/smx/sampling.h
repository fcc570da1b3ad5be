// Sampling token ids from logits, as language-model servers do: temperature, then top-k, then
// top-p over the renormalised top-k survivors, then min-p; exact, reproducible, and without
// sorting the vocabulary.
//
// Example (one decoding step of a batch; per-row temperatures, nucleus sampling):
//   std::vector<double> temps = {0.7, 1.0, 0.0};                 // row 2 decodes greedily
//   std::vector<std::int64_t> tokens(3);
//   smx::SamplingOptions o;
//   o.temperature = smx::PerRow<double>(temps);
//   o.top_p = 0.9;
//   o.seed = 1234;
//   o.step = position;
//   smx::Status s = smx::sample(smx::TensorView<const float>(logits, {3, vocab}).ref(), tokens, o);
//
// The distribution. For a row z of V logits and temperature T > 0, p = softmax(z / T). The
// filters keep an upper set of the tokens in the total order "higher logit first, then lower
// index" (so ties at a boundary are broken by index and exactly k tokens survive top-k):
//   top-k  (k > 0): the first k tokens of the order (all finite ones when fewer);
//   top-p  (p < 1): over the top-k survivors with p renormalised, the shortest prefix of the order
//                   whose mass is at least p (the token that crosses p included);
//   min-p  (q > 0): the tokens with p_i >= q * p_max, i.e. exp((z_i - max)/T) >= q.
// The token is drawn from p restricted to the survivors and renormalised. T = 0 is greedy: the
// highest logit, the lowest index among ties, whatever the filters. T = +inf is uniform over the
// finite logits (then filtered). A -inf logit is never drawn.
//
// Reproducibility. The random numbers come from Philox4x32-10 (Salmon et al., SC'11), keyed on
// the seed, with the counter (round, step, row id): the same logits, options, seed, step and row
// id give the same token, whatever the other rows of the batch, the thread count or whether
// log-probabilities are asked for. A row draws its own numbers, never numbers indexed by a sorted
// rank.
//
// How (see docs/sampling.md): top-k takes the max of every block of about V / 4k tokens; the
// k-th largest of those maxima is a threshold no top-k token is below, and one vectorised pass
// gathers the few tokens above it (about 1.5 k), the only ones ever ordered. Without top-k, top-p
// is sampled by rejection with pivots over the row's exponentials: draw a token from the
// remaining set, accept it if the mass ranked before it is below p, else keep only the tokens
// ranked before it (this draws exactly from the top-p distribution, and the expected number of
// rounds is small: the first is accepted with probability >= p). Prefix sums are taken in f64 in
// a fixed structure (chunks of 16384 tokens, blocks of 512, then token by token), so they are
// monotone and the same on any thread count, and the token chosen always has a positive
// probability under the filters.
//
// Accuracy: the probabilities are exp((z_i - max)/T) to within an ulp of the compute type (f32
// for f32, f16 and bf16; f64 for f64), summed in f64.
#ifndef SMX_SAMPLING_H_
#define SMX_SAMPLING_H_

#include <cstdint>
#include <span>
#include <type_traits>

#include "smx/status.h"
#include "smx/tensor.h"

namespace smx {

// A parameter given once for every row, or once per row.
template <typename T>
class PerRow {
 public:
  PerRow(T value) : value_(value) {}  // NOLINT(google-explicit-constructor)
  PerRow(std::span<const T> values) : values_(values), per_row_(true) {}  // NOLINT
  // Any contiguous range of T that outlives the options (a std::vector, an array); a temporary
  // would dangle, so it does not compile.
  template <class R>
  requires(std::is_convertible_v<const R&, std::span<const T>> && !std::is_convertible_v<R, T>)
      PerRow(const R& values)
      : values_(values), per_row_(true) {}  // NOLINT
  template <class R>
  requires(std::is_convertible_v<const R&, std::span<const T>> && !std::is_convertible_v<R, T> &&
           !std::is_lvalue_reference_v<R>) PerRow(R&&)
  = delete;
  bool per_row() const { return per_row_; }
  std::size_t size() const { return values_.size(); }
  T at(std::int64_t row) const {
    return per_row_ ? values_[static_cast<std::size_t>(row)] : value_;
  }

 private:
  T value_{};
  std::span<const T> values_;
  bool per_row_ = false;
};

struct SamplingOptions {
  PerRow<double> temperature = 1.0;  // >= 0 (0: greedy; +inf: uniform over the finite logits)
  PerRow<std::int64_t> top_k = 0;    // >= 0; 0 (or >= V) keeps every token
  PerRow<double> top_p = 1.0;        // in (0, 1]; 1 keeps every token
  PerRow<double> min_p = 0.0;        // in [0, 1]; 0 keeps every token
  std::uint64_t seed = 0;
  std::uint64_t step = 0;                  // < 2^32: the decoding step (or any stream number)
  std::span<const std::uint64_t> row_ids;  // one per row; empty: the row's index in the batch
};

// logits: [batch, V] or [V] (a batch of one), any dtype, any strides. tokens: one per row.
// logprobs (optional, one per row, may be empty): log p of the token under the filtered
// distribution; raw_logprobs (optional): under the unfiltered softmax(z / T). At T = 0 they are 0
// and -log(number of maxima).
// Errors (nothing written): a NaN or +inf logit, or a row whose logits are all -inf (the message
// names the row); T < 0 or NaN, k < 0, p outside (0, 1], min-p outside [0, 1]; a per-row
// parameter or row_ids whose length is not the batch; step >= 2^32; spans of the wrong length;
// V = 0 with a batch that is not empty.
Status sample(const ConstTensorRef& logits, std::span<std::int64_t> tokens,
              const SamplingOptions& options = {});
Status sample(const ConstTensorRef& logits, std::span<std::int64_t> tokens,
              std::span<double> logprobs, std::span<double> raw_logprobs,
              const SamplingOptions& options = {});

// What top_k_top_p_filter writes for each row.
enum class FilterOutput : std::uint8_t {
  kProbabilities,  // the filtered distribution: p renormalised over the survivors, 0 elsewhere
  kLogits,         // z / T on the survivors, -inf elsewhere (softmax of it is the filtered
                   // distribution); at T = 0, z at the greedy token and -inf elsewhere
};

// The filtered distribution itself (options.seed, step and row_ids are not used). out has the
// logits' shape; its dtype is the logits' (f16 and bf16 computed in f32). out may be the logits.
// Same errors as sample.
Status top_k_top_p_filter(const ConstTensorRef& logits, const TensorRef& out, FilterOutput output,
                          const SamplingOptions& options = {});

// ---- Gumbel-max and Gumbel-softmax ----------------------------------------------------------
//
// Both perturb every logit with its own Gumbel noise G_i = -log(-log U_i), U_i in (0, 1) the
// i-th number of the row's Philox stream (seed, row id, step; a stream apart from sample's), in
// f64. Philox and the logarithms run in vector lanes (about 5 ns per token at 1 thread), still
// far more than sample, which needs one number per row; they exist for what needs the noise.
struct GumbelOptions {
  // gumbel_max: T >= 0 (0: greedy, +inf: uniform over the finite logits); gumbel_softmax: tau,
  // finite and > 0.
  double temperature = 1.0;
  bool hard = false;  // gumbel_softmax: the one-hot of the argmax instead of the soft sample
  std::uint64_t seed = 0;
  std::uint64_t step = 0;                  // < 2^32
  std::span<const std::uint64_t> row_ids;  // one per row; empty: the row's index
};

// Gumbel-max: token = argmax_i (z_i / T + G_i) (the lowest index among ties), which is a draw
// from softmax(z / T). logits as in sample; the same errors.
Status gumbel_max(const ConstTensorRef& logits, std::span<std::int64_t> tokens,
                  const GumbelOptions& options = {});

// Gumbel-softmax (Jang et al., 2017; PyTorch's F.gumbel_softmax): y = softmax((z + G) / tau)
// along each row, or with `hard` the one-hot of its argmax (the forward value of the
// straight-through estimator; its gradient is softmax_backward of the soft y). out has the logits'
// shape and dtype and may be the logits. -inf logits get 0; errors as sample's.
Status gumbel_softmax(const ConstTensorRef& logits, const TensorRef& out,
                      const GumbelOptions& options = {});

}  // namespace smx

#endif  // SMX_SAMPLING_H_
