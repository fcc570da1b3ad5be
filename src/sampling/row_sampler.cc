// The row sampler (see row_sampler.h and the method in smx/sampling.h).
#include "sampling/row_sampler.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>

#include "core/parallel.h"
#include "softmax/row_math.h"

namespace smx::internal {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Below this many candidates the weighted selection sorts what is left.
constexpr std::size_t kSortBelow = 32;

// A row of exponentials, kept by the thread between calls and grown without being cleared: a
// fresh zeroed vector per call cost 6% of top-p sampling on [1, 128256] (its memset and page
// faults). At most one row of the longest vocabulary seen per thread (1 MiB for 256000 f32).
template <typename C>
C* ExponentialScratch(std::size_t n) {
  thread_local std::unique_ptr<C[]> buffer;
  thread_local std::size_t capacity = 0;
  if (capacity < n) {
    buffer.reset(new C[n]);
    capacity = n;
  }
  return buffer.get();
}

}  // namespace

template <typename C>
double RowSampler<C>::WeightOf(C z) const {
  switch (mode_) {
    case kUniform: return z > -std::numeric_limits<C>::infinity() ? 1.0 : 0.0;
    case kTies: return z == max_ ? 1.0 : 0.0;
    default:
      return std::exp((static_cast<double>(z) - static_cast<double>(shift_)) / params_.temperature);
  }
}

template <typename C>
double RowSampler<C>::LogWeight(C z) const {
  if (mode_ != kExp) return 0;
  return (static_cast<double>(z) - static_cast<double>(shift_)) / params_.temperature;
}

template <typename C>
std::string RowSampler<C>::Prepare(const C* x, std::size_t n, const RowParams& params) {
  params_ = params;
  const double t = params.temperature;
  greedy_ = t == 0;
  mode_ = t == kInf ? kUniform : kExp;
  if (mode_ == kExp && !greedy_ && !TemperatureFits<C>(t)) mode_ = t < 1 ? kTies : kUniform;
  if (mode_ == kExp && !greedy_) temp_ = MakeTemperature<C>(t);
  min_e_ = static_cast<C>(params.min_p);
  const std::size_t k = static_cast<std::size_t>(params.top_k);
  sparse_ = !greedy_ && k > 0 && k < n;
  bool nan_or_inf = false;
  if (sparse_) {
    k_.top_k(x, n, k, top_, value_buffer_, index_buffer_, &nan_or_inf);
    if (nan_or_inf) return "holds NaN or +inf";
    if (top_.empty()) return "has no finite logit";
    std::sort(top_.begin(), top_.end(), RankedBefore<C>);
    max_ = top_[0].value;
    shift_ = max_;
    candidates_.resize(top_.size());
    for (std::size_t j = 0; j < top_.size(); ++j)
      candidates_[j] = {top_[j], WeightOf(top_[j].value)};
    kept_ = candidates_.size();
    if (params.top_p < 1) {
      double sum = 0;
      for (const Candidate& c : candidates_) sum += c.weight;
      const double needed = params.top_p * sum;
      double running = 0;
      for (std::size_t j = 0; j < candidates_.size(); ++j) {
        running += candidates_[j].weight;
        if (running >= needed) {
          kept_ = j + 1;
          break;
        }
      }
    }
    if (params.min_p > 0) {
      while (kept_ > 1 && !(candidates_[kept_ - 1].weight >= params.min_p)) --kept_;
    }
    return {};
  }
  e_ = ExponentialScratch<C>(n);
  return DenseExponentials(x, n);
}

template <typename C>
template <class Fn>
void RowSampler<C>::ForChunks(std::size_t first, std::size_t count, Fn fn) {
  ParallelFor(static_cast<std::int64_t>(count), threads_,
              [&](std::int64_t begin, std::int64_t end) {
                for (std::int64_t c = begin; c < end; ++c) fn(first + static_cast<std::size_t>(c));
              });
}

template <typename C>
std::string RowSampler<C>::DenseExponentials(const C* x, std::size_t n) {
  chunks_ = (n + kSamplingChunk - 1) / kSamplingChunk;
  chunk_total_.assign(chunks_, 0.0);
  chunk_kept_.assign(chunks_, 0.0);
  auto begin_of = [](std::size_t c) { return c * kSamplingChunk; };
  auto length_of = [&](std::size_t c) { return std::min(kSamplingChunk, n - c * kSamplingChunk); };
  bool nan_or_inf = false;
  if (mode_ == kExp && !greedy_) {
    // Most rows have max/T in [0, 60] (f32; 700 for f64), where exp(z/T) needs no shift: one pass
    // stores the exponentials and takes the max (softmax's kernel), chunk by chunk. Other rows
    // are summed again with their max as the shift.
    chunk_max_.assign(chunks_, C(0));
    ForChunks(0, chunks_, [&](std::size_t c) {
      const ExpSum sums =
          softmax_.exp_sum_own_max(x + begin_of(c), e_ + begin_of(c), length_of(c), temp_, {});
      chunk_total_[c] = sums.sum + sums.sum_lo;
      chunk_max_[c] = static_cast<C>(sums.max);
    });
    bool usable = true;
    max_ = -std::numeric_limits<C>::infinity();
    for (std::size_t c = 0; c < chunks_; ++c) {
      usable = usable && std::isfinite(chunk_total_[c]) && !std::isnan(chunk_max_[c]);
      max_ = std::max(max_, chunk_max_[c]);
    }
    if (usable && max_ > -std::numeric_limits<C>::infinity() &&
        max_ <= std::numeric_limits<C>::max() && ChooseShift(max_, params_.temperature).zero) {
      shift_ = 0;
    } else {
      max_ = k_.scan(x, n, &nan_or_inf);
      if (nan_or_inf) return "holds NaN or +inf";
      if (max_ == -std::numeric_limits<C>::infinity()) return "has no finite logit";
      shift_ = max_;
      ForChunks(0, chunks_, [&](std::size_t c) {
        const ExpSum sums = softmax_.exp_sum(x + begin_of(c), e_ + begin_of(c), length_of(c), max_,
                                             max_, temp_, false, false, {});
        chunk_total_[c] = sums.sum + sums.sum_lo;
      });
    }
    min_e_ = C(0);
    chunk_kept_ = chunk_total_;
    if (params_.min_p > 0) {
      // min-p: e_i >= q e_max, with e_max the stored exponential of the first max.
      const C e_max = e_[k_.find_first(x, n, max_)];
      min_e_ = std::min(e_max, static_cast<C>(params_.min_p * static_cast<double>(e_max)));
      TokenFilter<C> filter;
      filter.min_e = min_e_;
      ForChunks(0, chunks_, [&](std::size_t c) {
        double finite = 0, masked = 0;  // every finite token ranks before (-inf, 0)
        k_.mass_split(x + begin_of(c), e_ + begin_of(c), length_of(c),
                      {-std::numeric_limits<C>::infinity(), 0}, filter, &finite, &masked,
                      &chunk_kept_[c]);
      });
    }
  } else {
    max_ = k_.scan(x, n, &nan_or_inf);
    if (nan_or_inf) return "holds NaN or +inf";
    if (max_ == -std::numeric_limits<C>::infinity()) return "has no finite logit";
    shift_ = max_;
    if (greedy_) return {};
    ForChunks(0, chunks_, [&](std::size_t c) {
      chunk_total_[c] = k_.exponentials(x + begin_of(c), e_ + begin_of(c), length_of(c), max_,
                                        temp_, mode_, min_e_, &chunk_kept_[c]);
    });
  }
  total_ = total_kept_ = 0;
  for (std::size_t c = 0; c < chunks_; ++c) {
    total_ += chunk_total_[c];
    total_kept_ += chunk_kept_[c];
  }
  return {};
}

template <typename C>
std::int64_t RowSampler<C>::DrawSparse(double u, double& filtered_mass) {
  by_index_.clear();
  for (std::size_t j = 0; j < kept_; ++j) {
    if (candidates_[j].weight > 0)
      by_index_.emplace_back(candidates_[j].token.index, candidates_[j].weight);
  }
  std::sort(by_index_.begin(), by_index_.end());
  double total = 0;
  for (const auto& [index, weight] : by_index_) total += weight;
  filtered_mass = total;
  const double target = u * total;
  double running = 0;
  for (const auto& [index, weight] : by_index_) {
    running += weight;
    if (running > target) return index;
  }
  return by_index_.back().first;  // rounding left the target at the total
}

// The filter as chunk c's kernels see it: token indices local to the chunk.
template <typename C>
TokenFilter<C> LocalFilter(TokenFilter<C> filter, std::size_t start) {
  filter.pivot.index -= static_cast<std::int64_t>(start);
  return filter;
}

template <typename C>
std::int64_t RowSampler<C>::WalkChunks(const C* x, std::size_t n, const TokenFilter<C>& filter,
                                       const std::vector<double>& chunk_mass, double target) {
  double running = 0;
  std::size_t last_positive = chunks_;
  for (std::size_t c = 0; c < chunks_; ++c) {
    if (!(chunk_mass[c] > 0)) continue;
    last_positive = c;
    if (running + chunk_mass[c] > target) break;
    running += chunk_mass[c];
  }
  if (last_positive == chunks_) return -1;
  // The crossing chunk walks from the total before it; if no chunk crosses (rounding left the
  // target at the total), the last chunk with mass gives its last counted token.
  const bool crossed = running + chunk_mass[last_positive] > target;
  const std::size_t start = last_positive * kSamplingChunk;
  const std::size_t length = std::min(kSamplingChunk, n - start);
  const std::int64_t j = k_.walk(x + start, e_ + start, length, LocalFilter(filter, start),
                                 crossed ? target - running : kInf);
  return j < 0 ? j : static_cast<std::int64_t>(start) + j;
}

template <typename C>
std::int64_t RowSampler<C>::DrawDense(const C* x, std::size_t n, const RowRandom& random) {
  TokenFilter<C> filter;
  filter.min_e = min_e_;
  chunk_mass_ = chunk_kept_;
  double total = total_kept_;
  const double needed = params_.top_p * total_;
  // An early acceptance must be the decision the whole row's sums give: the mass after the token
  // has to clear total - needed by far more than the rounding of two f64 sums of the row.
  const double margin = 1e-9 * total_;
  std::vector<double>& before = chunk_before_;
  std::vector<double>& after = chunk_after_;
  std::vector<double>& counted = chunk_counted_;
  before.assign(chunks_, 0.0);
  after.assign(chunks_, 0.0);
  counted.assign(chunks_, 0.0);
  for (std::uint32_t round = 0;; ++round) {
    const std::int64_t j = WalkChunks(x, n, filter, chunk_mass_, random.Uniform(round) * total);
    if (j < 0 || params_.top_p >= 1) return j;
    // Accept j if the mass ranked before it is below p: then j is in the top-p set. Otherwise
    // every token from j on is outside it, and the next round draws from those before j. Each
    // thread sums its run of chunks in order, and all stop once the mass after j (summed by all)
    // clears total - needed + margin: then the whole row's sums would accept j too, so where the
    // threads stop changes the time, never the token.
    const RankedToken<C> token{x[j], j};
    std::atomic<double> after_so_far{0.0};
    std::atomic<bool> accepted{false};
    const double enough_after = total_ - needed + margin;
    ParallelFor(static_cast<std::int64_t>(chunks_), threads_,
                [&](std::int64_t first, std::int64_t end) {
                  for (std::int64_t ci = first; ci < end && !accepted.load(); ++ci) {
                    const std::size_t c = static_cast<std::size_t>(ci);
                    const std::size_t start = c * kSamplingChunk;
                    RankedToken<C> local = token;
                    local.index -= static_cast<std::int64_t>(start);
                    k_.mass_split(x + start, e_ + start, std::min(kSamplingChunk, n - start), local,
                                  LocalFilter(filter, start), &before[c], &after[c], &counted[c]);
                    if (after_so_far.fetch_add(after[c]) + after[c] > enough_after) {
                      accepted.store(true);
                    }
                  }
                });
    if (accepted.load()) return j;
    double before_sum = 0;
    for (double b : before) before_sum += b;
    if (before_sum < needed) return j;
    filter.has_pivot = true;
    filter.pivot = token;
    chunk_mass_ = counted;
    total = 0;
    for (double m : counted) total += m;
  }
}

template <typename C>
void RowSampler<C>::ExactTopP(const C* x, std::size_t n, RankedToken<C>& boundary,
                              double& filtered_mass) {
  const double needed = params_.top_p * total_;
  // A token with e below (1 - p) S / n ranks after the boundary: all of them together weigh less
  // than (1 - p) S, so the tokens above it already reach p S.
  const C floor_e =
      static_cast<C>((1 - params_.top_p) * total_ / static_cast<double>(n) * (1 - 1e-6));
  candidates_.clear();
  for (std::size_t i = 0; i < n; ++i) {
    if (e_[i] > 0 && e_[i] >= floor_e) {
      candidates_.push_back({{x[i], static_cast<std::int64_t>(i)}, static_cast<double>(e_[i])});
    }
  }
  auto before = [](const Candidate& a, const Candidate& b) {
    return RankedBefore(a.token, b.token);
  };
  std::size_t lo = 0, hi = candidates_.size();
  double mass_before = 0;  // of the tokens ranked before candidates_[lo, hi)
  bool found = false;
  while (hi - lo > kSortBelow && !found) {
    const std::size_t mid = lo + (hi - lo) / 2;
    Candidate a = candidates_[lo], b = candidates_[mid], c = candidates_[hi - 1];
    if (before(b, a)) std::swap(a, b);
    if (before(c, b)) std::swap(b, c);
    if (before(b, a)) std::swap(a, b);
    const Candidate pivot = b;
    const auto split = std::partition(candidates_.begin() + lo, candidates_.begin() + hi,
                                      [&](const Candidate& t) { return before(t, pivot); });
    const std::size_t s = static_cast<std::size_t>(split - candidates_.begin());
    auto at_pivot = std::find_if(split, candidates_.begin() + hi, [&](const Candidate& t) {
      return t.token.index == pivot.token.index;
    });
    std::iter_swap(split, at_pivot);
    double left = 0;
    for (std::size_t j = lo; j < s; ++j) left += candidates_[j].weight;
    if (mass_before + left >= needed) {
      hi = s;
    } else if (mass_before + left + pivot.weight >= needed) {
      lo = s;
      hi = s + 1;
      mass_before += left;
      found = true;
    } else {
      mass_before += left + pivot.weight;
      lo = s + 1;
    }
  }
  std::sort(candidates_.begin() + lo, candidates_.begin() + hi, before);
  std::size_t b = hi - 1;
  for (std::size_t j = lo; j < hi; ++j) {
    if (mass_before + candidates_[j].weight >= needed) {
      b = j;
      break;
    }
    mass_before += candidates_[j].weight;
  }
  boundary = candidates_[b].token;
  // The filtered set: ranked up to the boundary, and kept by min-p.
  double ranked_before = 0, ranked_after = 0, counted = 0;
  TokenFilter<C> filter;
  filter.min_e = min_e_;
  k_.mass_split(x, e_, n, boundary, filter, &ranked_before, &ranked_after, &counted);
  const C eb = e_[static_cast<std::size_t>(boundary.index)];
  filtered_mass = counted + (eb >= min_e_ ? static_cast<double>(eb) : 0.0);
}

template <typename C>
std::string RowSampler<C>::Sample(const C* x, std::size_t n, const RowParams& params,
                                  const RowRandom& random, bool want_logprobs, RowDraw& draw) {
  std::string problem = Prepare(x, n, params);
  if (!problem.empty()) return problem;
  if (greedy_) {
    draw.token = static_cast<std::int64_t>(k_.find_first(x, n, max_));
    draw.logprob = 0;
    if (want_logprobs) {
      const auto ties = std::count(x, x + n, max_);
      draw.raw_logprob = -std::log(static_cast<double>(ties));
    }
    return {};
  }
  if (sparse_) {
    double filtered_mass = 0;
    draw.token = DrawSparse(random.Uniform(0), filtered_mass);
    if (want_logprobs) {
      const C z = x[draw.token];
      draw.logprob = LogWeight(z) - std::log(filtered_mass);
      // The unfiltered sum needs the whole row, which top-k alone never reads twice.
      e_ = ExponentialScratch<C>(n);
      double kept = 0;
      const double total = k_.exponentials(x, e_, n, max_, temp_, mode_, C(0), &kept);
      draw.raw_logprob = LogWeight(z) - std::log(total);
    }
    return {};
  }
  draw.token = DrawDense(x, n, random);
  if (draw.token < 0) return "has no token left to draw (internal)";
  if (want_logprobs) {
    const C z = x[draw.token];
    double filtered_mass = total_kept_;
    if (params.top_p < 1) {
      RankedToken<C> boundary;
      ExactTopP(x, n, boundary, filtered_mass);
    }
    draw.logprob = LogWeight(z) - std::log(filtered_mass);
    draw.raw_logprob = LogWeight(z) - std::log(total_);
  }
  return {};
}

template <typename C>
std::string RowSampler<C>::Filter(const C* x, std::size_t n, const RowParams& params,
                                  FilterOutput output, C* out) {
  std::string problem = Prepare(x, n, params);
  if (!problem.empty()) return problem;
  const bool probabilities = output == FilterOutput::kProbabilities;
  const C removed = probabilities ? C(0) : -std::numeric_limits<C>::infinity();
  auto logit_of = [&](C z) {
    return mode_ == kExp ? static_cast<C>(static_cast<double>(z) / params.temperature) : C(0);
  };
  if (greedy_) {
    const std::size_t j = k_.find_first(x, n, max_);
    const C kept = probabilities ? C(1) : x[j];
    std::fill(out, out + n, removed);
    out[j] = kept;
    return {};
  }
  if (sparse_) {
    double mass = 0;
    for (std::size_t j = 0; j < kept_; ++j) mass += candidates_[j].weight;
    // Write the survivors after the fill: out may be x, so their logits are read first.
    by_index_.clear();
    for (std::size_t j = 0; j < kept_; ++j) {
      const Candidate& c = candidates_[j];
      by_index_.emplace_back(c.token.index, probabilities
                                                ? c.weight / mass
                                                : static_cast<double>(logit_of(c.token.value)));
    }
    std::fill(out, out + n, removed);
    for (const auto& [index, value] : by_index_) out[index] = static_cast<C>(value);
    return {};
  }
  RankedToken<C> boundary{std::numeric_limits<C>::lowest(),
                          std::numeric_limits<std::int64_t>::max()};
  bool has_boundary = false;
  double mass = total_kept_;
  if (params.top_p < 1) {
    ExactTopP(x, n, boundary, mass);
    has_boundary = true;
  }
  const double inv_mass = 1 / mass;
  for (std::size_t i = 0; i < n; ++i) {
    const C z = x[i];
    const RankedToken<C> token{z, static_cast<std::int64_t>(i)};
    const bool in_top_p =
        !has_boundary || token.index == boundary.index || RankedBefore(token, boundary);
    const bool keep = in_top_p && e_[i] >= min_e_;
    out[i] = !keep           ? removed
             : probabilities ? static_cast<C>(static_cast<double>(e_[i]) * inv_mass)
                             : logit_of(z);
  }
  return {};
}

template class RowSampler<float>;
template class RowSampler<double>;

}  // namespace smx::internal
