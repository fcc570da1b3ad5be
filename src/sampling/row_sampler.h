// One row of sampling: the filters of smx/sampling.h applied to a contiguous row of the compute
// type (float or double), the token drawn, and the filtered distribution itself. A RowSampler
// keeps its scratch between rows, so a thread makes one and reuses it.
#ifndef SMX_SAMPLING_ROW_SAMPLER_H_
#define SMX_SAMPLING_ROW_SAMPLER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "sampling/kernels.h"
#include "sampling/philox.h"
#include "smx/sampling.h"

namespace smx::internal {

// The dense path works on fixed chunks of a row (sums per chunk, the draw's walk inside one
// chunk), so that the tokens do not depend on how many threads share a row. 16384 f32 tokens of
// logits and exponentials (128 KiB) stay in L2 between a chunk's passes.
inline constexpr std::size_t kSamplingChunk = 16384;

// The parameters of one row, validated by the driver.
struct RowParams {
  double temperature = 1;  // >= 0 or +inf
  std::int64_t top_k = 0;  // 0: off
  double top_p = 1;        // (0, 1]
  double min_p = 0;        // [0, 1]
};

struct RowDraw {
  std::int64_t token = -1;
  double logprob = 0;      // under the filtered distribution
  double raw_logprob = 0;  // under softmax(z / T)
};

template <typename C>
class RowSampler {
 public:
  // `exp_kernels`: softmax's row kernels, whose exponential pass (with the max taken in the same
  // pass) the dense path shares.
  RowSampler(const SamplingKernels<C>& kernels, const RowKernels<C>& exp_kernels)
      : k_(kernels), softmax_(exp_kernels) {}

  // The threads one row's dense passes may use (chunks spread over them); 1 by default.
  void set_threads(int threads) { threads_ = threads; }

  // Draws the row's token; an empty string, or what is wrong with the row ("holds NaN or +inf",
  // "has no finite logit").
  std::string Sample(const C* x, std::size_t n, const RowParams& params, const RowRandom& random,
                     bool want_logprobs, RowDraw& draw);
  // Writes the filtered distribution (or logits) of the row into out (n entries; may be x).
  std::string Filter(const C* x, std::size_t n, const RowParams& params, FilterOutput output,
                     C* out);

 private:
  // A survivor of top-k: its rank key and its weight exp((z - max)/T) in f64.
  struct Candidate {
    RankedToken<C> token;
    double weight;
  };

  // The work every op shares: the checks, the max, the temperature mode and, with top-k, the
  // survivors (sparse_) ordered by rank and cut by top-p and min-p; without it, the
  // exponentials of the whole row (e_) and their sums.
  std::string Prepare(const C* x, std::size_t n, const RowParams& params);
  // log exp((z - shift)/T) for a token with positive weight.
  double LogWeight(C z) const;
  double WeightOf(C z) const;
  // Without top-k and with top-p: the last token of the top-p set (its boundary in the order)
  // and the mass of the filtered set, exactly (weighted selection over the tokens that can
  // matter).
  void ExactTopP(const C* x, std::size_t n, RankedToken<C>& boundary, double& filtered_mass);
  // The token of a sparse row, by inverse CDF in index order over the survivors.
  std::int64_t DrawSparse(double u, double& filtered_mass);
  std::int64_t DrawDense(const C* x, std::size_t n, const RowRandom& random);
  // The inverse CDF in index order over the chunks with mass chunk_mass (under `filter`).
  std::int64_t WalkChunks(const C* x, std::size_t n, const TokenFilter<C>& filter,
                          const std::vector<double>& chunk_mass, double target);
  // fn(c) for the chunks [first, first + count), on threads_ threads.
  template <class Fn>
  void ForChunks(std::size_t first, std::size_t count, Fn fn);

  // The dense path's exponentials: e_i = exp((z_i - shift)/T), shift 0 or the max.
  std::string DenseExponentials(const C* x, std::size_t n);

  const SamplingKernels<C>& k_;
  const RowKernels<C>& softmax_;
  RowParams params_;
  C max_ = 0;
  C shift_ = 0;  // the weights are exp((z - shift)/T)
  int mode_ = kExp;
  Temperature<C> temp_;
  bool greedy_ = false;
  bool sparse_ = false;
  // Sparse: the top-k survivors in rank order, of which the first kept_ pass top-p and min-p.
  std::vector<Candidate> candidates_;
  std::size_t kept_ = 0;
  std::vector<RankedToken<C>> top_;
  std::vector<C> value_buffer_;
  std::vector<std::int64_t> index_buffer_;
  std::vector<std::pair<std::int64_t, double>> by_index_;
  // Dense: e_i for the whole row (ExponentialScratch), their sum, and the sum of those that
  // min-p keeps.
  C* e_ = nullptr;
  int threads_ = 1;
  // Per chunk: the sums of e (all, and those min-p keeps), the maxima of the exponential pass,
  // the mass the current round draws from, and the top-p test's sums.
  std::size_t chunks_ = 0;
  std::vector<double> chunk_total_, chunk_kept_, chunk_mass_;
  std::vector<double> chunk_before_, chunk_after_, chunk_counted_;
  std::vector<C> chunk_max_;
  double total_ = 0, total_kept_ = 0;
  C min_e_ = 0;
};

}  // namespace smx::internal

#endif  // SMX_SAMPLING_ROW_SAMPLER_H_
