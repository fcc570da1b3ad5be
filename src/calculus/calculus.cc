// Public entry points of the softmax calculus: argument checks, then per row a reduction and an
// output pass (contiguous rows straight to the kernels; strided rows and f16/bf16 staged through
// small buffers of f32 or f64), and the Jacobian.
#include "smx/calculus.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "calculus/kernels.h"
#include "core/cache_size.h"
#include "core/layout.h"
#include "core/parallel.h"
#include "core/storage.h"
#include "hwy/cache_control.h"

namespace smx {
namespace {

using internal::WideSum;

constexpr std::int64_t kStage = 1024;  // elements of a staging buffer

template <typename S>
using Compute = internal::ComputeType<S>;
using internal::FromCompute;
using internal::ToCompute;

template <typename C>
const internal::CalculusKernels<C>& KernelsOf(const internal::CalculusKernelTable& table) {
  if constexpr (std::is_same_v<C, float>) {
    return table.f32;
  } else {
    return table.f64;
  }
}

using internal::Accumulate;

enum class Backward { kSoftmax, kLogSoftmax };

Status CheckTemperature(const char* op, double temperature) {
  if (!(temperature > 0) || std::isinf(temperature)) {
    return Status::InvalidArgument(std::string(op) + ": temperature must be finite and > 0 (the " +
                                   "T = 0 limit has no derivative), got " +
                                   std::to_string(temperature));
  }
  return Status::Ok();
}

// One call: rows of grad (g), the forward output (y: softmax's y or log_softmax's out) and dz,
// all of storage type S, along one axis; `g_rows` maps grad to dz, `y_rows` the forward output
// to dz (the same rows: the three share a shape).
template <typename S>
void RunBackward(Backward kind, const S* g, const S* y, S* dz, const internal::RowSet& g_rows,
                 const internal::RowSet& y_rows, double temperature) {
  using C = Compute<S>;
  constexpr bool kNative = std::is_same_v<S, float> || std::is_same_v<S, double>;
  const internal::CalculusKernels<C>& k = KernelsOf<C>(internal::GetCalculusKernels());
  const std::int64_t length = g_rows.length;
  const double scale = 1 / temperature;
  const bool contiguous = kNative && g_rows.x_stride == 1 && g_rows.y_stride == 1 &&
                          y_rows.x_stride == 1;
  const std::int64_t work = g_rows.num_rows * length;
  const int threads = internal::ThreadsFor(3 * work, g_rows.num_rows);
  // f32 dz goes out with streaming stores where y, g and dz would not stay in the caches: all
  // three past 32 MiB, or one thread's share past 4 L2s (20 MiB at most). Below that, dz's
  // lines, read for ownership, evict the y and g that the output pass reads again. On a Zen 5
  // (1 MiB L2, 32 MiB L3; 1 thread, ns/element, ordinary -> streamed): 16x128256 0.25 -> 0.19,
  // 2048x1000 0.47 -> 0.27, 1x2000000 0.24 -> 0.19; at 16-17 MB a draw, and 24 MiB on 2
  // threads 0.124 -> 0.138. On an Emerald Rapids (2 MiB L2, 260 MB L3, where ordinary stores'
  // reads for ownership come from a slower L3), against a memcpy of the same bytes: [16, 128256]
  // at 2 threads (12 MB each) 1.27-1.40 -> 1.09-1.16, [8, 128256] 1 thread 1.39 -> 1.14,
  // [1024, 1000] 1.13 -> 0.93 (1 and 2 threads), [512, 1000] (6 MB) 1.11 -> 0.90.
  const std::int64_t bytes = 3 * work * static_cast<std::int64_t>(sizeof(S));
  const std::int64_t per_thread_limit =
      std::min(std::int64_t{20} << 20, 4 * internal::L2CacheBytes());
  auto stream_for = [bytes, per_thread_limit](int threads_used) {
    return bytes >= (std::int64_t{32} << 20) ||
           bytes / std::max(1, threads_used) >= per_thread_limit;
  };
  const bool stream = stream_for(threads);
  if constexpr (kNative) {
    // Fewer rows than the threads a row's chunks could keep busy: each row's kDotChunk chunks go
    // over the threads, their partial dot products added in chunk order, as one thread adds them
    // (a single row of 16777216 at 2 threads ran on one).
    const auto chunk = static_cast<std::int64_t>(internal::kDotChunk);
    const std::int64_t chunks = (length + chunk - 1) / chunk;
    const int row_threads = internal::ThreadsFor(3 * length, chunks);
    if (contiguous && chunks >= 2 && g_rows.num_rows < row_threads) {
      const bool stream_rows = stream_for(row_threads);
      std::vector<WideSum> partial(static_cast<std::size_t>(chunks));
      for (std::int64_t r = 0; r < g_rows.num_rows; ++r) {
        std::int64_t go = 0, dzo = 0, yo = 0, unused = 0;
        g_rows.Offsets(r, go, dzo);
        y_rows.Offsets(r, yo, unused);
        auto length_of = [&](std::int64_t c) {
          return static_cast<std::size_t>(std::min(chunk, length - c * chunk));
        };
        internal::ParallelFor(chunks, row_threads, [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t c = begin; c < end; ++c) {
            const S* gc = g + go + c * chunk;
            partial[static_cast<std::size_t>(c)] =
                k.dot(gc, kind == Backward::kSoftmax ? y + yo + c * chunk : nullptr, length_of(c));
          }
        });
        WideSum s;
        for (const WideSum& p : partial) Accumulate(s, p);
        internal::ParallelFor(chunks, row_threads, [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t c = begin; c < end; ++c) {
            const std::int64_t at = c * chunk;
            if (kind == Backward::kSoftmax) {
              k.softmax_backward(y + yo + at, g + go + at, dz + dzo + at, length_of(c), s, scale,
                                 stream_rows);
            } else {
              k.log_softmax_backward(y + yo + at, g + go + at, dz + dzo + at, length_of(c), s,
                                     scale);
            }
          }
          if (stream_rows) hwy::FlushStream();
        });
      }
      return;
    }
  }
  std::int64_t g_row_stride = 0, y_row_stride = 0, dz_row_stride = 0, unused_stride = 0;
  if (contiguous && g_rows.EvenlySpaced(g_row_stride, dz_row_stride) &&
      y_rows.EvenlySpaced(y_row_stride, unused_stride)) {
    if constexpr (kNative) {
      internal::BackwardRows<C> block{
          y, g, dz, y_row_stride, g_row_stride, dz_row_stride, static_cast<std::size_t>(length)};
      block.stream = stream;
      // Pipelined, whole rows, where two rows of y and g fill at most 3/4 of L2: the next row's
      // dot must not evict this row's y and g before its output pass reads them again. 1
      // thread, Emerald Rapids (2 MiB L2), against a memcpy of the same bytes, plain ->
      // pipelined: [4096, 1000] 1.06 -> 0.97, [512, 32000] 1.11 -> 0.99, [2048, 8192] 1.10 ->
      // 1.02, [32, 64128] 1.22 -> 1.10, [24, 85504] 1.27 -> 1.13; past it no gain ([20, 102605]
      // 1.27 -> 1.21), and at 2 MiB a loss ([16, 128256] at 2 threads 1.31 -> 1.60). Up to a
      // row in half of L2, only the second half of each output pass runs beside the first half
      // of the next dot: the reads between a row's two passes stay one row's, as unpipelined
      // ([16, 128256] 1.22-1.26 -> 1.13-1.16, [20, 102605] 1.22 -> 1.14-1.18; at 2 threads
      // 1.23-1.26 -> 1.26-1.29; rows of 2 MiB 1.28 -> 1.34, so they stay unpipelined).
      if (std::is_same_v<S, float> && kind == Backward::kSoftmax) {
        const std::int64_t row_bytes = 2 * std::int64_t{sizeof(float)} * length;  // y and g
        const std::int64_t l2 = internal::L2CacheBytes();
        if (2 * row_bytes <= l2 / 4 * 3) {
          block.pipeline_from = 0;
        } else if (row_bytes <= l2 / 2) {
          block.pipeline_from = static_cast<std::size_t>(length / 2);
        }
      }
      const auto run =
          kind == Backward::kSoftmax ? k.softmax_backward_rows : k.log_softmax_backward_rows;
      internal::ParallelFor(g_rows.num_rows, threads, [&](std::int64_t begin, std::int64_t end) {
        run(block, static_cast<std::size_t>(begin), static_cast<std::size_t>(end), scale);
      });
      return;
    }
  }
  internal::ParallelFor(
      g_rows.num_rows, threads, [&](std::int64_t begin, std::int64_t end) {
        C gb[kStage], yb[kStage];
        for (std::int64_t r = begin; r < end; ++r) {
          std::int64_t go = 0, dzo = 0, yo = 0, unused = 0;
          g_rows.Offsets(r, go, dzo);
          y_rows.Offsets(r, yo, unused);
          const S* gr = g + go;
          const S* yr = y + yo;
          S* dzr = dz + dzo;
          auto output = [&](const C* yv, const C* gv, C* out, std::size_t n, WideSum s) {
            if (kind == Backward::kSoftmax) {
              k.softmax_backward(yv, gv, out, n, s, scale, false);
            } else {
              k.log_softmax_backward(yv, gv, out, n, s, scale);
            }
          };
          if constexpr (kNative) {
            if (contiguous) {
              const auto n = static_cast<std::size_t>(length);
              const WideSum s =
                  kind == Backward::kSoftmax ? k.dot(gr, yr, n) : k.dot(gr, nullptr, n);
              output(yr, gr, dzr, n, s);
              continue;
            }
          }
          // Staged: the reduction over blocks, then the output pass over the same blocks.
          auto gather = [&](std::int64_t start, std::int64_t n) {
            for (std::int64_t i = 0; i < n; ++i) {
              gb[i] = ToCompute(gr[(start + i) * g_rows.x_stride]);
              yb[i] = ToCompute(yr[(start + i) * y_rows.x_stride]);
            }
          };
          WideSum s;
          for (std::int64_t start = 0; start < length; start += kStage) {
            const std::int64_t n = std::min(kStage, length - start);
            gather(start, n);
            const auto un = static_cast<std::size_t>(n);
            Accumulate(s, kind == Backward::kSoftmax ? k.dot(gb, yb, un) : k.dot(gb, nullptr, un));
          }
          for (std::int64_t start = 0; start < length; start += kStage) {
            const std::int64_t n = std::min(kStage, length - start);
            gather(start, n);
            output(yb, gb, gb, static_cast<std::size_t>(n), s);
            for (std::int64_t i = 0; i < n; ++i) {
              dzr[(start + i) * g_rows.y_stride] = FromCompute<S>(gb[i]);
            }
          }
        }
      });
}

Status Backward3(Backward kind, const char* name, const ConstTensorRef& grad,
                 const ConstTensorRef& y, const TensorRef& dz, const BackwardOptions& options) {
  if (Status s = CheckTemperature(name, options.temperature); !s.ok()) return s;
  internal::RowSet g_rows, y_rows;
  if (Status s = internal::PlanElementwise(name, grad, dz, options.axis, g_rows); !s.ok()) {
    return s;
  }
  if (Status s = internal::PlanElementwise(name, y, dz, options.axis, y_rows); !s.ok()) return s;
  // dz may be either input itself (the same view), not a view that overlaps one otherwise: the
  // output pass would read elements it had already written.
  const char* input_names[2] = {"the gradient", "the forward output"};
  const ConstTensorRef* inputs[2] = {&grad, &y};
  for (int i = 0; i < 2; ++i) {
    const ConstTensorRef& in = *inputs[i];
    if (!internal::SameView(in, dz) && internal::ViewsOverlap(in, dz)) {
      return Status::InvalidArgument(std::string(name) + ": the output overlaps " + input_names[i] +
                                     " without being it (in place needs the "
                                     "same view)");
    }
  }
  if (g_rows.num_rows == 0 || g_rows.length == 0) return Status::Ok();
  switch (dz.dtype) {
    case DType::kF32:
      RunBackward(kind, static_cast<const float*>(grad.data), static_cast<const float*>(y.data),
                  static_cast<float*>(dz.data), g_rows, y_rows, options.temperature);
      break;
    case DType::kF64:
      RunBackward(kind, static_cast<const double*>(grad.data), static_cast<const double*>(y.data),
                  static_cast<double*>(dz.data), g_rows, y_rows, options.temperature);
      break;
    case DType::kF16:
      RunBackward(kind, static_cast<const float16*>(grad.data),
                  static_cast<const float16*>(y.data), static_cast<float16*>(dz.data), g_rows,
                  y_rows, options.temperature);
      break;
    case DType::kBF16:
      RunBackward(kind, static_cast<const bfloat16*>(grad.data),
                  static_cast<const bfloat16*>(y.data), static_cast<bfloat16*>(dz.data), g_rows,
                  y_rows, options.temperature);
      break;
  }
  return Status::Ok();
}

// The Jacobian of each row: y = softmax(z/T) of the row into a scratch row of the compute type
// (f64 for f32 data: the products y_i y_j are then exact), then J row by row.
template <typename S>
Status RunJacobian(const S* z, S* jac, const internal::RowSet& rows, const Layout& jl,
                   double temperature) {
  using W = std::conditional_t<std::is_same_v<S, double>, long double, double>;
  const std::int64_t k = rows.length;
  const int jr = jl.rank;
  std::vector<double> z_row(static_cast<std::size_t>(k)), y_row(static_cast<std::size_t>(k));
  for (std::int64_t r = 0; r < rows.num_rows; ++r) {
    std::int64_t zo = 0, unused = 0;
    rows.Offsets(r, zo, unused);
    for (std::int64_t i = 0; i < k; ++i) z_row[i] = static_cast<double>(ToCompute(z[zo + i * rows.x_stride]));
    // softmax in f64 (for f64 data: as exact as f64 allows; f32 data gains the extra digits).
    const std::int64_t shape[1] = {k};
    if (Status s = softmax(TensorView<const double>(z_row.data(), shape),
                           TensorView<double>(y_row.data(), shape), {.temperature = temperature});
        !s.ok()) {
      return s;
    }
    // Row r's offset in jac: r over the outer dimensions (all but the last two), row-major.
    std::int64_t jo = 0, rest = r;
    for (int d = jr - 3; d >= 0; --d) {
      jo += (rest % jl.shape[d]) * jl.strides[d];
      rest /= jl.shape[d];
    }
    const W inv_t = W(1) / static_cast<W>(temperature);
    // 1 - y_i for the one entry that may exceed 1/2 is the sum of the others: 1 - y_i itself
    // would cancel (y_i = 1 - 1e-10 carries an error of 1e-16, a relative 1e-6 of 1 - y_i).
    std::int64_t top = -1;
    W others = 0;
    for (std::int64_t i = 0; i < k; ++i) {
      if (y_row[i] > 0.5) top = i;
    }
    if (top >= 0) {
      for (std::int64_t j = 0; j < k; ++j) {
        if (j != top) others += y_row[j];
      }
    }
    for (std::int64_t i = 0; i < k; ++i) {
      const W yi = y_row[i];
      for (std::int64_t j = 0; j < k; ++j) {
        const W yj = y_row[j];
        const W v = i == j ? yi * (i == top ? others : W(1) - yi) : -(yi * yj);
        jac[jo + i * jl.strides[jr - 2] + j * jl.strides[jr - 1]] =
            FromCompute<S>(static_cast<Compute<S>>(v * inv_t));
      }
    }
  }
  return Status::Ok();
}

// H = -sum_i y_i log y_i of each row. For T finite: with d_i = (zmax - z_i)/T,
// -log y_i = d_i + log S, so H = log S + sum_i e^-d_i d_i / S: two sums of positive terms, and
// log S = log(c + rest) = log c + log1p(rest/c) keeps a dominant row's tiny H (1e-14) exact.
template <typename S>
void RunEntropy(const S* z, S* out, const internal::RowSet& rows, double temperature) {
  using C = Compute<S>;
  using W = std::conditional_t<std::is_same_v<S, double>, long double, double>;
  constexpr bool kNative = std::is_same_v<S, float> || std::is_same_v<S, double>;
  const internal::CalculusKernels<C>& k = KernelsOf<C>(internal::GetCalculusKernels());
  const std::int64_t length = rows.length;
  const bool limit = temperature == 0 || std::isinf(temperature);
  const double inv_t = limit ? 0 : 1 / temperature;
  internal::ParallelFor(
      rows.num_rows, internal::ThreadsFor(rows.num_rows * length, rows.num_rows),
      [&](std::int64_t begin, std::int64_t end) {
        C buf[kStage];
        for (std::int64_t r = begin; r < end; ++r) {
          std::int64_t zo = 0, oo = 0;
          rows.Offsets(r, zo, oo);
          const S* zr = z + zo;
          const bool direct = kNative && rows.x_stride == 1;
          // Calls body(block, n) for each block of the row, as compute values.
          auto each_block = [&](auto body) {
            if constexpr (kNative) {
              if (direct) return body(reinterpret_cast<const C*>(zr), static_cast<std::size_t>(length));
            }
            for (std::int64_t start = 0; start < length; start += kStage) {
              const std::int64_t n = std::min(kStage, length - start);
              for (std::int64_t i = 0; i < n; ++i) buf[i] = ToCompute(zr[(start + i) * rows.x_stride]);
              body(static_cast<const C*>(buf), static_cast<std::size_t>(n));
            }
          };
          W h = 0;
          if (length == 0) {
            h = 0;  // an empty sum
          } else if (limit) {
            // T = 0: log of the number of entries at the max; T = inf: log of the finite ones.
            bool special = false;
            C zmax = -std::numeric_limits<C>::infinity();
            W count = 0;
            each_block([&](const C* v, std::size_t n) {
              for (std::size_t i = 0; i < n; ++i) {
                special |= std::isnan(v[i]) || v[i] == std::numeric_limits<C>::infinity();
                zmax = std::max(zmax, v[i]);
              }
            });
            each_block([&](const C* v, std::size_t n) {
              for (std::size_t i = 0; i < n; ++i) {
                count += temperature == 0 ? (v[i] == zmax) : std::isfinite(v[i]);
              }
            });
            h = special ? W(NAN) : (std::isinf(zmax) ? W(0) : std::log(count));
          } else {
            C zmax = -std::numeric_limits<C>::infinity();
            bool nan = false;  // std::max(-inf, NaN) is -inf: a NaN block max is kept apart
            each_block([&](const C* v, std::size_t n) {
              const C block_max = k.max(v, n);
              nan |= std::isnan(block_max);
              zmax = std::max(zmax, block_max);
            });
            if (nan || zmax == std::numeric_limits<C>::infinity()) {
              h = W(NAN);
            } else if (std::isinf(zmax)) {
              h = 0;  // a fully masked row: no uncertainty left to measure
            } else {
              W count = 0, rest = 0, weighted = 0;
              each_block([&](const C* v, std::size_t n) {
                const internal::EntropySums sums = k.entropy_sums(v, n, zmax, inv_t);
                count += sums.count;
                rest += sums.rest;
                weighted += sums.weighted;
              });
              h = std::log(count) + std::log1p(rest / count) + weighted / (count + rest);
            }
          }
          out[oo] = FromCompute<S>(static_cast<C>(h));
        }
      });
}

}  // namespace

Status entropy(const ConstTensorRef& z, const TensorRef& out, const SoftmaxOptions& options) {
  const char* name = "entropy";
  if (std::isnan(options.temperature) || options.temperature < 0) {
    return Status::InvalidArgument(std::string(name) + ": temperature must be >= 0 (0 is the " +
                                   "argmax limit, inf the uniform one), got " +
                                   std::to_string(options.temperature));
  }
  internal::RowSet rows;
  if (Status s = internal::PlanReduction(name, z, out, options.axis, rows); !s.ok()) return s;
  if (rows.num_rows == 0) return Status::Ok();
  switch (z.dtype) {
    case DType::kF32:
      RunEntropy(static_cast<const float*>(z.data), static_cast<float*>(out.data), rows,
                 options.temperature);
      break;
    case DType::kF64:
      RunEntropy(static_cast<const double*>(z.data), static_cast<double*>(out.data), rows,
                 options.temperature);
      break;
    case DType::kF16:
      RunEntropy(static_cast<const float16*>(z.data), static_cast<float16*>(out.data), rows,
                 options.temperature);
      break;
    case DType::kBF16:
      RunEntropy(static_cast<const bfloat16*>(z.data), static_cast<bfloat16*>(out.data), rows,
                 options.temperature);
      break;
  }
  return Status::Ok();
}

Status softmax_backward(const ConstTensorRef& grad, const ConstTensorRef& y, const TensorRef& dz,
                        const BackwardOptions& options) {
  return Backward3(Backward::kSoftmax, "softmax_backward", grad, y, dz, options);
}

Status log_softmax_backward(const ConstTensorRef& grad, const ConstTensorRef& out,
                            const TensorRef& dz, const BackwardOptions& options) {
  return Backward3(Backward::kLogSoftmax, "log_softmax_backward", grad, out, dz, options);
}

Status softmax_jvp(const ConstTensorRef& y, const ConstTensorRef& v, const TensorRef& out,
                   const BackwardOptions& options) {
  return Backward3(Backward::kSoftmax, "softmax_jvp", v, y, out, options);
}

Status softmax_jacobian(const ConstTensorRef& z, const TensorRef& jacobian,
                        const SoftmaxOptions& options) {
  const char* name = "softmax_jacobian";
  if (Status s = CheckTemperature(name, options.temperature); !s.ok()) return s;
  // Rows of z along the axis (z's own layout stands in for the output here).
  internal::RowSet rows;
  const TensorRef z_as_output{const_cast<void*>(z.data), z.dtype, z.layout};
  if (Status s = internal::PlanElementwise(name, z, z_as_output, options.axis, rows); !s.ok()) {
    return s;
  }
  const int rank = z.layout.rank;
  const int axis = options.axis < 0 ? options.axis + rank : options.axis;
  const Layout& jl = jacobian.layout;
  bool shape_ok = jacobian.dtype == z.dtype && jl.rank == rank + 1 && jl.rank <= kMaxRank;
  for (int d = 0, o = 0; shape_ok && d < rank; ++d) {
    if (d != axis) shape_ok = jl.shape[o++] == z.layout.shape[d];
  }
  shape_ok = shape_ok && jl.shape[rank - 1] == rows.length && jl.shape[rank] == rows.length;
  if (!shape_ok) {
    std::string want = "[";
    for (int d = 0; d < rank; ++d) {
      if (d != axis) want += std::to_string(z.layout.shape[d]) + ", ";
    }
    want += std::to_string(rows.length) + ", " + std::to_string(rows.length) + "]";
    return Status::InvalidArgument(
        std::string(name) + ": the jacobian must be " + dtype_name(z.dtype) + " " + want +
        " (z's shape without the axis, then K, K), got " + dtype_name(jacobian.dtype) + " " +
        internal::ShapeString(jl));
  }
  if (jacobian.data == nullptr && jl.num_elements() > 0) {
    return Status::InvalidArgument(std::string(name) + ": jacobian is null");
  }
  if (rows.num_rows == 0 || rows.length == 0) return Status::Ok();
  switch (z.dtype) {
    case DType::kF32:
      return RunJacobian(static_cast<const float*>(z.data), static_cast<float*>(jacobian.data),
                         rows, jl, options.temperature);
    case DType::kF64:
      return RunJacobian(static_cast<const double*>(z.data), static_cast<double*>(jacobian.data),
                         rows, jl, options.temperature);
    case DType::kF16:
      return RunJacobian(static_cast<const float16*>(z.data), static_cast<float16*>(jacobian.data),
                         rows, jl, options.temperature);
    case DType::kBF16:
      return RunJacobian(static_cast<const bfloat16*>(z.data),
                         static_cast<bfloat16*>(jacobian.data), rows, jl, options.temperature);
  }
  return Status::Ok();
}

}  // namespace smx
