// Cross-entropy with class indices: checks, the targets' validation and weight sum D, then the
// per-target kernel over blocks of rows (contiguous f32/f64 rows directly, others staged one row
// at a time), and the reduction.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "core/layout.h"
#include "core/parallel.h"
#include "core/storage.h"
#include "losses/kernels.h"
#include "losses/loss_plan.h"
#include "smx/losses.h"

namespace smx {

const char* reduction_name(Reduction reduction) {
  switch (reduction) {
    case Reduction::kNone:
      return "none";
    case Reduction::kSum:
      return "sum";
    case Reduction::kMean:
      return "mean";
  }
  return "unknown";
}

bool parse_reduction(const char* name, Reduction& reduction) {
  if (name == nullptr) return false;
  for (const Reduction r : {Reduction::kNone, Reduction::kSum, Reduction::kMean}) {
    if (std::strcmp(name, reduction_name(r)) == 0) {
      reduction = r;
      return true;
    }
  }
  return false;
}

namespace {

using internal::ClassRows;
using internal::LossPlan;
using internal::RowSet;

template <typename C>
const internal::LossKernels<C>& KernelsOf(const internal::LossKernelTable& table) {
  if constexpr (std::is_same_v<C, float>) {
    return table.f32;
  } else {
    return table.f64;
  }
}

// A row whose max is -inf, as the kernel left it: NaN somewhere (the max did not see it) gives a
// NaN loss and gradient; otherwise it is fully masked, p = 0: the limit formulas with p = 0.
template <typename C>
void FinishMaskedRow(const ClassRows<C>& a, const C* x, C* g, std::int64_t t, double& row_loss) {
  const std::size_t n = a.classes;
  bool nan = false;
  for (std::size_t c = 0; c < n; ++c) nan |= !(x[c] <= std::numeric_limits<C>::max()) &&
                                            x[c] != -std::numeric_limits<C>::infinity();
  if (nan) {
    row_loss = std::numeric_limits<double>::quiet_NaN();
    if (g != nullptr) std::fill(g, g + n, std::numeric_limits<C>::quiet_NaN());
    return;
  }
  const double eps = a.smoothing, eps_c = eps / static_cast<double>(n);
  const double wt = a.weight != nullptr ? static_cast<double>(a.weight[t]) : 1.0;
  const double main = (1 - eps) * wt;
  row_loss = main != 0 || (eps > 0 && a.weight_sum != 0) ? std::numeric_limits<double>::infinity()
                                                          : 0.0;
  if (g == nullptr) return;
  for (std::size_t c = 0; c < n; ++c) {
    const double wc = a.weight != nullptr ? static_cast<double>(a.weight[c]) : 1.0;
    g[c] = static_cast<C>(-a.grad_scale * eps_c * wc);
  }
  g[t] = static_cast<C>(-a.grad_scale * (main + eps_c * wt));
}

template <typename S>
void RunClassRows(const S* logits, S* grad, const LossPlan& plan, const std::int64_t* target,
                  ClassRows<internal::ComputeType<S>> base, std::span<double> row_loss,
                  internal::LossWriter& writer) {
  using C = internal::ComputeType<S>;
  constexpr bool kNative = std::is_same_v<S, float> || std::is_same_v<S, double>;
  const internal::LossKernels<C>& k = KernelsOf<C>(internal::GetLossKernels());
  const RowSet& rows = plan.rows;
  const std::int64_t n = rows.length;
  std::int64_t x_row_stride = 0, g_row_stride = 0;
  const bool even = rows.EvenlySpaced(x_row_stride, g_row_stride);
  const bool direct = kNative && rows.x_stride == 1 && (grad == nullptr || rows.y_stride == 1);
  const std::int64_t work = rows.num_rows * n * (grad != nullptr ? 2 : 1);
  // A block's chunks of long rows run where the block runs.
  auto inline_chunks = [](std::size_t count,
                          internal::FunctionRef<void(std::size_t, std::size_t)> body) {
    body(0, count);
  };
  if constexpr (kNative) {
    // Fewer rows than the threads their chunks could keep busy: one call over all rows, each
    // row's chunks over the threads (a single row of 16777216 at 2 threads ran on one).
    const auto chunk = static_cast<std::int64_t>(internal::LossChunkLength<C>(n));
    const std::int64_t chunks = (n + chunk - 1) / chunk;
    const int row_threads = internal::ThreadsFor(work, rows.num_rows * chunks);
    if (direct && even && chunks >= 2 && rows.num_rows < row_threads) {
      std::int64_t xo = 0, go = 0;
      rows.Offsets(0, xo, go);
      ClassRows<C> a = base;
      a.logits = reinterpret_cast<const C*>(logits) + xo;
      a.logits_stride = x_row_stride;
      a.grad = grad != nullptr ? reinterpret_cast<C*>(grad) + go : nullptr;
      a.grad_stride = g_row_stride;
      a.rows = static_cast<std::size_t>(rows.num_rows);
      a.target = target;
      a.row_loss = row_loss.data();
      k.class_rows(
          a,
          [&](std::size_t i) {
            FinishMaskedRow(a, a.logits + static_cast<std::ptrdiff_t>(i) * a.logits_stride,
                            a.grad != nullptr
                                ? a.grad + static_cast<std::ptrdiff_t>(i) * a.grad_stride
                                : nullptr,
                            a.target[i], a.row_loss[i]);
          },
          [&](std::size_t count, internal::FunctionRef<void(std::size_t, std::size_t)> body) {
            internal::ParallelFor(static_cast<std::int64_t>(count), row_threads,
                                  [&](std::int64_t begin, std::int64_t end) {
                                    body(static_cast<std::size_t>(begin),
                                         static_cast<std::size_t>(end));
                                  });
          });
      writer.RowsDone(0, rows.num_rows);
      return;
    }
  }
  internal::ParallelFor(
      rows.num_rows, internal::ThreadsFor(work, rows.num_rows),
      [&](std::int64_t begin, std::int64_t end) {
        std::vector<C> staged;
        // Rows [first, first + count) with row 0 at x and g (row strides xs, gs).
        auto run = [&](std::int64_t first, std::int64_t count, const C* x, std::ptrdiff_t xs,
                       C* g, std::ptrdiff_t gs) {
          ClassRows<C> a = base;
          a.logits = x;
          a.logits_stride = xs;
          a.grad = g;
          a.grad_stride = gs;
          a.rows = static_cast<std::size_t>(count);
          a.target = target + first;
          a.row_loss = row_loss.data() + first;
          k.class_rows(
              a,
              [&](std::size_t i) {
                FinishMaskedRow(a, x + static_cast<std::ptrdiff_t>(i) * xs,
                                g != nullptr ? g + static_cast<std::ptrdiff_t>(i) * gs : nullptr,
                                a.target[i], a.row_loss[i]);
              },
              inline_chunks);
        };
        if constexpr (kNative) {
          if (direct) {
            std::int64_t xo = 0, go = 0;
            if (even) {
              rows.Offsets(begin, xo, go);
              run(begin, end - begin, reinterpret_cast<const C*>(logits) + xo, x_row_stride,
                  grad != nullptr ? reinterpret_cast<C*>(grad) + go : nullptr, g_row_stride);
            } else {
              for (std::int64_t r = begin; r < end; ++r) {
                rows.Offsets(r, xo, go);
                run(r, 1, reinterpret_cast<const C*>(logits) + xo, 0,
                    grad != nullptr ? reinterpret_cast<C*>(grad) + go : nullptr, 0);
              }
            }
            writer.RowsDone(begin, end);
            return;
          }
        }
        // Staged: the row in the compute type, the gradient computed over it, then stored.
        staged.resize(static_cast<std::size_t>(n));
        for (std::int64_t r = begin; r < end; ++r) {
          std::int64_t xo = 0, go = 0;
          rows.Offsets(r, xo, go);
          for (std::int64_t i = 0; i < n; ++i) {
            staged[i] = internal::ToCompute(logits[xo + i * rows.x_stride]);
          }
          run(r, 1, staged.data(), 0, grad != nullptr ? staged.data() : nullptr, 0);
          if (grad == nullptr) continue;
          for (std::int64_t i = 0; i < n; ++i) {
            grad[go + i * rows.y_stride] = internal::FromCompute<S>(staged[i]);
          }
        }
        writer.RowsDone(begin, end);
      });
}

Status CrossEntropy(const ConstTensorRef& logits, std::span<const std::int64_t> target,
                    const TensorRef& loss, const TensorRef* grad,
                    const CrossEntropyOptions& options) {
  constexpr const char* kOp = "cross_entropy";
  LossPlan plan;
  if (Status s = internal::PlanLoss(kOp, logits, nullptr, nullptr, loss, grad, options.reduction,
                                    options.axis, plan);
      !s.ok()) {
    return s;
  }
  const std::int64_t classes = plan.rows.length, samples = plan.rows.num_rows;
  if (Status s = internal::CheckClassOptions(kOp, logits, options, classes); !s.ok()) return s;
  if (static_cast<std::int64_t>(target.size()) != samples) {
    return Status::InvalidArgument(
        std::string(kOp) + ": target has " + std::to_string(target.size()) +
        " entries but the logits " + internal::ShapeString(logits.layout) + " hold " +
        std::to_string(samples) + " samples (one per row along axis " +
        std::to_string(options.axis) + ")");
  }
  const std::vector<double> w = internal::WeightsOf(options.weight);
  // Every target is checked before anything is written; D = sum of w[t_n] over the non-ignored.
  // Counted on vectors (CountTargets), the first bad one looked for only when there is one.
  const internal::TargetCounts counts = internal::GetLossKernels().count_targets(
      target.data(), target.size(), classes, options.ignore_index);
  const std::int64_t counted = counts.counted;
  for (std::int64_t r = 0; counts.any_bad && r < samples; ++r) {
    const std::int64_t t = target[static_cast<std::size_t>(r)];
    if (t != options.ignore_index && (t < 0 || t >= classes)) {
      return Status::InvalidArgument(std::string(kOp) + ": target[" + std::to_string(r) + "] = " +
                                     std::to_string(t) + " is outside [0, " +
                                     std::to_string(classes) + ") and is not ignore_index (" +
                                     std::to_string(options.ignore_index) + ")");
    }
  }
  internal::CompensatedSum weighted;
  if (!w.empty()) {
    for (const std::int64_t t : target) {
      if (t != options.ignore_index) weighted.Add(w[static_cast<std::size_t>(t)]);
    }
  }
  const double divisor = w.empty() ? static_cast<double>(counted) : weighted.Value();
  internal::CompensatedSum weights;
  for (const double v : w) weights.Add(v);
  const double weight_sum = w.empty() ? static_cast<double>(classes) : weights.Value();

  // Not zeroed: the kernels write every row's loss (C = 0: below), so the pages are first
  // touched by the threads that compute those rows rather than by one thread before them.
  std::unique_ptr<double[]> row_loss_buffer(new double[static_cast<std::size_t>(samples)]);
  const std::span<double> row_loss(row_loss_buffer.get(), static_cast<std::size_t>(samples));
  internal::LossWriter writer(loss, plan, options.reduction, row_loss);
  const bool mean = options.reduction == Reduction::kMean;
  auto run = [&](auto tag) {
    using S = decltype(tag);
    using C = internal::ComputeType<S>;
    std::vector<C> weight_c(w.begin(), w.end());
    ClassRows<C> base;
    base.classes = static_cast<std::size_t>(classes);
    base.ignore_index = options.ignore_index;
    base.weight = weight_c.empty() ? nullptr : weight_c.data();
    base.smoothing = options.label_smoothing;
    base.weight_sum = weight_sum;
    base.grad_scale = !mean ? 1.0 : divisor == 0 ? std::numeric_limits<double>::quiet_NaN() : 1 / divisor;
    RunClassRows(static_cast<const S*>(logits.data),
                 grad != nullptr ? static_cast<S*>(grad->data) : nullptr, plan, target.data(), base,
                 row_loss, writer);
  };
  // C = 0 leaves only ignored samples (any other target failed above): losses 0, no gradient.
  if (classes > 0) {
    if (samples > 0) internal::VisitStorage(logits.dtype, run);
  } else {
    std::fill(row_loss.begin(), row_loss.end(), 0.0);
    writer.RowsDone(0, samples);
  }
  writer.Finish(divisor);
  return Status::Ok();
}

}  // namespace

Status cross_entropy(const ConstTensorRef& logits, std::span<const std::int64_t> target,
                     const TensorRef& loss, const CrossEntropyOptions& options) {
  return CrossEntropy(logits, target, loss, nullptr, options);
}

Status cross_entropy(const ConstTensorRef& logits, std::span<const std::int64_t> target,
                     const TensorRef& loss, const TensorRef& grad,
                     const CrossEntropyOptions& options) {
  return CrossEntropy(logits, target, loss, &grad, options);
}

}  // namespace smx
