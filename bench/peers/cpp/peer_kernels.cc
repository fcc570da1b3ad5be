#include "peer_kernels.h"

#include <omp.h>
#include <pthreadpool.h>
#include <xnnpack.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <oneapi/dnnl/dnnl.hpp>
#include <stdexcept>

#include "smx/runtime.h"
#include "smx/softmax.h"

namespace smx_peers {
namespace {

constexpr std::size_t kAlignment = 64;

void Check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

}  // namespace

const char* OpName(Op op) { return op == Op::kSoftmax ? "softmax" : "log_softmax"; }

Buffer::Buffer(std::size_t count) : size_(count) {
  std::size_t bytes = count * sizeof(float) + XNN_EXTRA_BYTES;
  bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  data_.reset(static_cast<float*>(std::aligned_alloc(kAlignment, bytes)));
  if (!data_) throw std::bad_alloc();
  std::memset(data_.get(), 0, bytes);
}

Runner MakeSmx(Op op, const float* x, float* y, std::size_t rows, std::size_t cols, int threads,
               double temperature) {
  const smx::SoftmaxOptions options{.temperature = temperature};
  smx::set_num_threads(threads);
  const smx::Status status = op == Op::kSoftmax ? smx::softmax(x, y, rows, cols, options)
                                                : smx::log_softmax(x, y, rows, cols, options);
  Check(status.ok(), "smx: " + status.message());
  // The same arguments cannot fail a second time; the timed call skips the check.
  return [=] {
    smx::set_num_threads(threads);
    if (op == Op::kSoftmax) {
      (void)smx::softmax(x, y, rows, cols, options);
    } else {
      (void)smx::log_softmax(x, y, rows, cols, options);
    }
  };
}

namespace {

// One primitive with its memories and stream; oneDNN (the Debian build uses OpenMP) takes its
// thread count from omp_get_max_threads() when the primitive is created and when it runs.
struct OneDnnSoftmax {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::memory src, dst;
  dnnl::softmax_v2_forward primitive;
  dnnl::softmax_v2_forward::primitive_desc pd;

  OneDnnSoftmax(Op op, const float* x, float* y, std::size_t rows, std::size_t cols) {
    using dnnl::memory;
    const memory::desc md({static_cast<memory::dim>(rows), static_cast<memory::dim>(cols)},
                          memory::data_type::f32, memory::format_tag::ab);
    src = memory(md, engine, const_cast<float*>(x));
    dst = memory(md, engine, y);
    const auto algorithm =
        op == Op::kSoftmax ? dnnl::algorithm::softmax_accurate : dnnl::algorithm::softmax_log;
    const dnnl::softmax_v2_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, md, md,
                                              /*axis=*/1);
    pd = dnnl::softmax_v2_forward::primitive_desc(desc, engine);
    primitive = dnnl::softmax_v2_forward(pd);
  }
  void Run() {
    primitive.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    stream.wait();
  }
};

}  // namespace

Runner MakeOneDnn(Op op, const float* x, float* y, std::size_t rows, std::size_t cols,
                  int threads) {
  omp_set_num_threads(threads);
  auto state = std::make_shared<OneDnnSoftmax>(op, x, y, rows, cols);
  return [state, threads] {
    omp_set_num_threads(threads);
    state->Run();
  };
}

std::string OneDnnVersion() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch) + (v->cpu_runtime == DNNL_RUNTIME_OMP ? " (OpenMP)" : "");
}

std::string OneDnnImplementation(std::size_t rows, std::size_t cols) {
  Buffer x(rows * cols), y(rows * cols);
  return OneDnnSoftmax(Op::kSoftmax, x.data(), y.data(), rows, cols).pd.impl_info_str();
}

bool InitXnnpack() { return xnn_initialize(nullptr) == xnn_status_success; }

Runner MakeXnnpack(Op op, const float* x, float* y, std::size_t rows, std::size_t cols,
                   int threads) {
  if (op != Op::kSoftmax) return {};
  struct State {
    xnn_operator_t op = nullptr;
    pthreadpool_t pool = nullptr;
    ~State() {
      if (op != nullptr) xnn_delete_operator(op);
      if (pool != nullptr) pthreadpool_destroy(pool);
    }
  };
  auto state = std::make_shared<State>();
  // No pool runs on the calling thread; a pool of n runs on n threads (the caller among them).
  if (threads > 1) state->pool = pthreadpool_create(static_cast<std::size_t>(threads));
  Check(xnn_create_softmax_nc_f32(cols, cols, cols, 0, &state->op) == xnn_status_success,
        "xnn_create_softmax_nc_f32 failed");
  Check(xnn_setup_softmax_nc_f32(state->op, rows, x, y, state->pool) == xnn_status_success,
        "xnn_setup_softmax_nc_f32 failed");
  return [state] { (void)xnn_run_operator(state->op, state->pool); };
}

// What a user of Eigen writes: per row, the max, exp(x - max), and a division by (or the log of)
// the sum. Eigen is single-threaded here; its SIMD is what this file is compiled for.
Runner MakeEigen(Op op, const float* x, float* y, std::size_t rows, std::size_t cols) {
  return [=] {
    const auto n = static_cast<Eigen::Index>(cols);
    for (std::size_t r = 0; r < rows; ++r) {
      const Eigen::Map<const Eigen::ArrayXf> in(x + r * cols, n);
      Eigen::Map<Eigen::ArrayXf> out(y + r * cols, n);
      const float max = in.maxCoeff();
      out = (in - max).exp();
      const float sum = out.sum();
      if (op == Op::kSoftmax) {
        out *= 1.0f / sum;
      } else {
        out = (in - max) - std::log(sum);
      }
    }
  };
}

std::string EigenDescription() {
  return std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
         std::to_string(EIGEN_MINOR_VERSION) + " (" + Eigen::SimdInstructionSetsInUse() + ")";
}

Runner MakeCopy(const float* x, float* y, std::size_t count, int threads) {
  if (threads <= 1) {
    return [=] { std::memcpy(y, x, count * sizeof(float)); };
  }
  return [=] {
#pragma omp parallel num_threads(threads)
    {
      const auto parts = static_cast<std::size_t>(omp_get_num_threads());
      const auto part = static_cast<std::size_t>(omp_get_thread_num());
      constexpr std::size_t kLine = kAlignment / sizeof(float);
      const std::size_t slice = ((count + parts - 1) / parts + kLine - 1) / kLine * kLine;
      const std::size_t begin = std::min(count, part * slice);
      const std::size_t end = std::min(count, begin + slice);
      std::memcpy(y + begin, x + begin, (end - begin) * sizeof(float));
    }
  };
}

std::string SmxDescription() {
  return std::string(smx::version()) + " (" + smx::simd_target() + ")";
}

}  // namespace smx_peers
