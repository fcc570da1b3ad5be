// Cross-entropy with probability targets and the distillation loss: two inputs of one shape per
// row, on the f64-lane kernels of loss_kernels.cc. The KL of a student close to its teacher is
// O(delta^2) from terms of O(delta): f32 data keeps enough of it in f64 (u/delta^2 relative), f64
// data takes a form without cancellation (distill_excess). Fully masked rows go to a scalar
// path in a wide type (f64, or long double for f64 data).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
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
namespace {

using internal::LossPlan;
using internal::RowSet;

template <typename S>
using Wide = std::conditional_t<std::is_same_v<S, double>, long double, double>;

template <typename W>
bool IsNanOrPosInf(W v) {
  return !(v <= std::numeric_limits<W>::max()) && v != -std::numeric_limits<W>::infinity();
}

// Per-row softmax pieces in W: d_c = (z_c - max)/T, e_c = exp(d_c), S = sum e_c and log S =
// log(count) + log1p(rest/count), the entries at the max counted apart from the rest (even in
// long double, 1 + rest keeps only a few digits of a confident row's rest of 1e-16).
template <typename W>
struct RowSoftmax {
  bool masked = false;  // every entry -inf: p = 0 by smx's convention
  std::vector<W> d, e;
  W sum = 0, log_sum = 0;

  void Compute(const std::vector<W>& z, W inv_t) {
    const std::size_t n = z.size();
    W m = -std::numeric_limits<W>::infinity();
    for (const W v : z) m = std::max(m, v);
    masked = m == -std::numeric_limits<W>::infinity();
    d.assign(n, -std::numeric_limits<W>::infinity());
    e.assign(n, 0);
    sum = 0;
    if (masked) return;
    W count = 0, rest = 0;
    for (std::size_t c = 0; c < n; ++c) {
      d[c] = (z[c] - m) * inv_t;
      e[c] = std::exp(d[c]);
      if (z[c] == m) {
        count += 1;
      } else {
        rest += e[c];
      }
    }
    sum = count + rest;
    log_sum = std::log(count) + std::log1p(rest / count);
  }
  W p(std::size_t c) const { return masked ? W(0) : e[c] / sum; }
  // -log p_c (+inf for a masked class or row).
  W neg_log_p(std::size_t c) const { return masked ? std::numeric_limits<W>::infinity() : log_sum - d[c]; }
};

enum class PairLoss { kCrossEntropyProbs, kDistill };

struct PairArgs {
  PairLoss kind;
  double inv_t = 1;       // 1/T (distillation)
  double smoothing = 0;   // eps (probability targets)
  double row_scale = 1;   // a row's loss factor: T^2 (distillation) or 1
  double grad_scale = 1;  // 1/N under a mean, T/N for distillation, or 1
  const std::vector<double>* weight = nullptr;  // empty: every w_c = 1
};

// One row: x the logits (student), q the target probabilities (teacher logits); returns the row
// loss and writes the gradient into g (when non-null).
template <typename W>
W PairRow(const PairArgs& a, const std::vector<W>& x, const std::vector<W>& q, std::vector<W>* g,
          RowSoftmax<W>& sx, RowSoftmax<W>& sq) {
  const std::size_t n = x.size();
  bool nan = false;
  for (std::size_t c = 0; c < n; ++c) {
    nan |= IsNanOrPosInf(x[c]) || std::isnan(q[c]);
    if (a.kind == PairLoss::kDistill) nan |= IsNanOrPosInf(q[c]);
  }
  if (nan) {
    if (g != nullptr) g->assign(n, std::numeric_limits<W>::quiet_NaN());
    return std::numeric_limits<W>::quiet_NaN();
  }
  sx.Compute(x, static_cast<W>(a.inv_t));
  W loss = 0;
  if (a.kind == PairLoss::kCrossEntropyProbs) {
    // l = sum_c w_c P'_c (-lp_c); grad = (sum_c w_c P'_c) p - w P'.
    const W eps = a.smoothing, eps_c = eps / static_cast<W>(n);
    W total = 0;
    auto weighted_target = [&](std::size_t c) {
      const W wc = a.weight->empty() ? W(1) : static_cast<W>((*a.weight)[c]);
      return wc * ((1 - eps) * q[c] + eps_c);
    };
    for (std::size_t c = 0; c < n; ++c) {
      const W wq = weighted_target(c);
      total += wq;
      if (wq != 0) loss += wq * sx.neg_log_p(c);
    }
    if (g != nullptr) {
      for (std::size_t c = 0; c < n; ++c) {
        (*g)[c] = static_cast<W>(a.grad_scale) * (total * sx.p(c) - weighted_target(c));
      }
    }
    return loss;
  }
  // Distillation: sum_c pt_c (log pt_c - log ps_c) = sum_c pt_c (ds... ) with both log-probs
  // from their own shifted logits; terms with pt_c = 0 are 0.
  sq.Compute(q, static_cast<W>(a.inv_t));
  if (!sq.masked) {
    for (std::size_t c = 0; c < n; ++c) {
      const W pt = sq.p(c);
      if (pt == 0) continue;
      loss += pt * (sx.neg_log_p(c) - sq.neg_log_p(c));
    }
  }
  if (g != nullptr) {
    for (std::size_t c = 0; c < n; ++c) {
      (*g)[c] = static_cast<W>(a.grad_scale) * (sx.p(c) - sq.p(c));
    }
  }
  return loss * static_cast<W>(a.row_scale);
}

// One row on the vector kernels, in compute type C (float for f32, f16 and bf16 storage; double
// for probability targets of f64 data); false when the row needs the scalar path (a fully masked
// row). x, q: the row's inputs; g: its gradient or null.
template <typename C>
bool VectorPairRow(const internal::LossKernels<C>& k, const PairArgs& a, const C* x, const C* q,
                   const C* w, C* g, std::size_t n, double& loss) {
  const C mx = k.max(x, n);
  constexpr C kInf = std::numeric_limits<C>::infinity();
  const bool distill = a.kind == PairLoss::kDistill;
  const C mq = distill ? k.max(q, n) : C(0);
  if (mx == -kInf || mq == -kInf) return false;
  auto nan_row = [&] {
    loss = std::numeric_limits<double>::quiet_NaN();
    if (g != nullptr) std::fill(g, g + n, std::numeric_limits<C>::quiet_NaN());
    return true;
  };
  if (!(mx < kInf) || !(mq < kInf)) return nan_row();
  // log S = log(count) + log1p(rest/count): the max's 1 stays out of the rounding of the rest.
  auto log_sum = [](double count, double rest) {
    return (count == 1 ? 0.0 : std::log(count)) + std::log1p(rest / count);
  };
  if (distill) {
    const internal::DistillSums d = k.distill_sums(x, q, n, mx, mq, a.inv_t);
    if (d.nan_or_inf) return nan_row();
    const double ss = d.s_count + d.s_rest, st = d.t_count + d.t_rest;
    if constexpr (std::is_same_v<C, double>) {
      // KL = log sum_i pt_i e^(v_i) with v = u - mean_pt(u) (u_i = log(ps_i/pt_i) + const):
      // log1p((excess + resid)/total) - resid/total, every excess term >= 0 and resid ~ 0, so a
      // student close to its teacher keeps the digits of its O(delta^2) KL (the terms' own
      // difference, cross/St + log Ss - log St, keeps only u/delta^2 of it).
      const internal::DistillExcess x_sums = k.distill_excess(x, q, n, mx, mq, a.inv_t, d.cross / st);
      if (std::isinf(x_sums.excess)) {
        loss = std::numeric_limits<double>::infinity();
      } else {
        const double rr = x_sums.resid / x_sums.total;
        loss = a.row_scale * (std::log1p(x_sums.excess / x_sums.total + rr) - rr);
      }
    } else {
      loss = a.row_scale *
             (d.cross / st + (log_sum(d.s_count, d.s_rest) - log_sum(d.t_count, d.t_rest)));
    }
    if (g != nullptr) k.distill_grad(x, q, g, n, mx, mq, a.inv_t, a.grad_scale / ss, a.grad_scale / st);
    return true;
  }
  const internal::ProbsSums p = k.probs_sums(x, q, w, n, mx, a.smoothing);
  if (p.nan_or_inf) return nan_row();
  const double s = p.count + p.rest;
  loss = p.gap + (p.total == 0 ? 0.0 : p.total * log_sum(p.count, p.rest));
  if (g != nullptr) k.probs_grad(x, q, w, g, n, mx, a.smoothing, a.grad_scale * p.total / s, a.grad_scale);
  return true;
}

template <typename C>
const internal::LossKernels<C>& KernelsFor() {
  if constexpr (std::is_same_v<C, float>) {
    return internal::GetLossKernels().f32;
  } else {
    return internal::GetLossKernels().f64;
  }
}

template <typename S>
void RunPairRows(const PairArgs& args, const S* x, const S* q, S* grad, const LossPlan& plan,
                 std::vector<double>& row_loss, internal::LossWriter& writer) {
  using W = Wide<S>;
  using C = internal::ComputeType<S>;
  const RowSet& rows = plan.rows;
  const RowSet& q_rows = plan.other_rows;
  const std::int64_t n = rows.length;
  const auto un = static_cast<std::size_t>(n);
  // Every row runs on the vector kernels (f64 lanes) but the fully masked ones.
  const internal::LossKernels<C>& k = KernelsFor<C>();
  std::vector<C> weight(args.weight->begin(), args.weight->end());
  const C* w = weight.empty() ? nullptr : weight.data();
  internal::ParallelFor(
      rows.num_rows, internal::ThreadsFor(rows.num_rows * n * 8, rows.num_rows),
      [&](std::int64_t begin, std::int64_t end) {
        std::vector<W> xr, qr, gr;
        std::vector<C> xs, qs, gs;
        RowSoftmax<W> sx, sq;
        for (std::int64_t r = begin; r < end; ++r) {
          std::int64_t xo = 0, go = 0, qo = 0, unused = 0;
          rows.Offsets(r, xo, go);
          q_rows.Offsets(r, qo, unused);
          double& loss = row_loss[static_cast<std::size_t>(r)];
          {
            constexpr bool kNative = std::is_same_v<S, C>;
            const bool direct_in = kNative && rows.x_stride == 1 && q_rows.x_stride == 1;
            const bool direct_out = kNative && rows.y_stride == 1;
            const C* xp;
            const C* qp;
            if (direct_in) {
              xp = reinterpret_cast<const C*>(x + xo);
              qp = reinterpret_cast<const C*>(q + qo);
            } else {
              xs.resize(un);
              qs.resize(un);
              for (std::int64_t i = 0; i < n; ++i) {
                xs[i] = internal::ToCompute(x[xo + i * rows.x_stride]);
                qs[i] = internal::ToCompute(q[qo + i * q_rows.x_stride]);
              }
              xp = xs.data();
              qp = qs.data();
            }
            C* gp = nullptr;
            if (grad != nullptr) {
              // In place (grad = x or q) is safe: every element is read before it is written.
              if (direct_out) {
                gp = reinterpret_cast<C*>(grad + go);
              } else {
                gs.resize(un);
                gp = gs.data();
              }
            }
            if (VectorPairRow(k, args, xp, qp, w, gp, un, loss)) {
              if (grad != nullptr && !direct_out) {
                for (std::int64_t i = 0; i < n; ++i) {
                  grad[go + i * rows.y_stride] = internal::FromCompute<S>(gs[i]);
                }
              }
              continue;
            }
          }
          // The scalar path: fully masked rows, in long double for f64 data.
          xr.resize(un);
          qr.resize(un);
          gr.resize(un);
          for (std::int64_t i = 0; i < n; ++i) {
            xr[i] = static_cast<W>(internal::ToCompute(x[xo + i * rows.x_stride]));
            qr[i] = static_cast<W>(internal::ToCompute(q[qo + i * q_rows.x_stride]));
          }
          loss = static_cast<double>(PairRow<W>(args, xr, qr, grad != nullptr ? &gr : nullptr, sx, sq));
          if (grad == nullptr) continue;
          for (std::int64_t i = 0; i < n; ++i) {
            grad[go + i * rows.y_stride] = internal::FromCompute<S>(static_cast<C>(gr[i]));
          }
        }
        writer.RowsDone(begin, end);
      });
}

Status RunPair(const char* op, const PairArgs& args_in, const ConstTensorRef& x,
               const char* other_name, const ConstTensorRef& q, const TensorRef& loss,
               const TensorRef* grad, Reduction reduction, int axis,
               const CrossEntropyOptions* class_options) {
  LossPlan plan;
  if (Status s = internal::PlanLoss(op, x, other_name, &q, loss, grad, reduction, axis, plan);
      !s.ok()) {
    return s;
  }
  std::vector<double> weight;
  if (class_options != nullptr) {
    if (Status s = internal::CheckClassOptions(op, x, *class_options, plan.rows.length); !s.ok()) {
      return s;
    }
    weight = internal::WeightsOf(class_options->weight);
  }
  const std::int64_t samples = plan.rows.num_rows;
  PairArgs args = args_in;
  args.weight = &weight;
  if (reduction == Reduction::kMean) args.grad_scale /= static_cast<double>(samples);
  std::vector<double> row_loss(static_cast<std::size_t>(samples), 0.0);
  internal::LossWriter writer(loss, plan, reduction, row_loss);
  auto run = [&](auto tag) {
    using S = decltype(tag);
    RunPairRows(args, static_cast<const S*>(x.data), static_cast<const S*>(q.data),
                grad != nullptr ? static_cast<S*>(grad->data) : nullptr, plan, row_loss, writer);
  };
  if (samples > 0 && plan.rows.length > 0) {
    internal::VisitStorage(x.dtype, run);
  } else {
    writer.RowsDone(0, samples);  // C = 0: every loss is 0
  }
  writer.Finish(static_cast<double>(samples));
  return Status::Ok();
}

Status CrossEntropyProbs(const ConstTensorRef& logits, const ConstTensorRef& target,
                         const TensorRef& loss, const TensorRef* grad,
                         const CrossEntropyOptions& options) {
  PairArgs args;
  args.kind = PairLoss::kCrossEntropyProbs;
  args.smoothing = options.label_smoothing;
  return RunPair("cross_entropy_probs", args, logits, "target", target, loss, grad,
                 options.reduction, options.axis, &options);
}

Status Distill(const ConstTensorRef& student, const ConstTensorRef& teacher, const TensorRef& loss,
               const TensorRef* grad, const DistillOptions& options) {
  const double t = options.temperature;
  if (!(t > 0) || std::isinf(t)) {
    return Status::InvalidArgument("kl_div_distill: temperature must be finite and > 0, got " +
                                   std::to_string(t));
  }
  PairArgs args;
  args.kind = PairLoss::kDistill;
  args.inv_t = 1 / t;
  args.row_scale = t * t;
  args.grad_scale = t;  // / N below: batchmean
  return RunPair("kl_div_distill", args, student, "teacher", teacher, loss, grad, Reduction::kMean,
                 options.axis, nullptr);
}

}  // namespace

Status cross_entropy_probs(const ConstTensorRef& logits, const ConstTensorRef& target,
                           const TensorRef& loss, const CrossEntropyOptions& options) {
  return CrossEntropyProbs(logits, target, loss, nullptr, options);
}
Status cross_entropy_probs(const ConstTensorRef& logits, const ConstTensorRef& target,
                           const TensorRef& loss, const TensorRef& grad,
                           const CrossEntropyOptions& options) {
  return CrossEntropyProbs(logits, target, loss, &grad, options);
}
Status kl_div_distill(const ConstTensorRef& student, const ConstTensorRef& teacher,
                      const TensorRef& loss, const DistillOptions& options) {
  return Distill(student, teacher, loss, nullptr, options);
}
Status kl_div_distill(const ConstTensorRef& student, const ConstTensorRef& teacher,
                      const TensorRef& loss, const TensorRef& grad, const DistillOptions& options) {
  return Distill(student, teacher, loss, &grad, options);
}

}  // namespace smx
