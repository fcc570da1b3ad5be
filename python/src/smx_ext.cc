// smx._smx: the compiled half of the Python package. The public API, argument normalisation and
// framework handling live in python/smx/ (see _array.py); this module takes arrays whose output
// is already allocated and runs the kernels on them without the GIL.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "alloc.h"
#include "array.h"
#include "smx/runtime.h"
#include "smx/calculus.h"
#include "smx/sigmoid.h"
#include "smx/softmax.h"

namespace nb = nanobind;

namespace smx_py {
void BindLosses(nb::module_& m);     // losses_ext.cc
void BindAttention(nb::module_& m);  // attention_ext.cc
void BindSampling(nb::module_& m);   // sampling_ext.cc
}  // namespace smx_py

using smx_py::DTypeOverride;
using smx_py::InArray;
using smx_py::OutArray;

namespace {

// An op of the softmax kind: (x, out, dim, temperature, dtype), in place allowed. `op` calls the
// C++ entry point with the run-time typed views and the options.
template <typename Op>
void DefSoftmaxLike(nb::module_& m, const char* name, Op op) {
  m.def(
      name,
      [op](const InArray& x, const OutArray& out, int dim, double temperature,
           const DTypeOverride& dtype) {
        smx_py::RunOp(x, out, dtype, /*allow_in_place=*/true, [&](const auto& in, const auto& y) {
          return op(in, y, smx::SoftmaxOptions{.temperature = temperature, .axis = dim});
        });
      },
      nb::arg("x"), nb::arg("out"), nb::arg("dim"), nb::arg("temperature"),
      nb::arg("dtype") = nb::none());
}

void BindSoftmax(nb::module_& m) {
  DefSoftmaxLike(m, "softmax", [](const auto& x, const auto& y, const smx::SoftmaxOptions& o) {
    return smx::softmax(x, y, o);
  });
  DefSoftmaxLike(m, "log_softmax", [](const auto& x, const auto& y, const smx::SoftmaxOptions& o) {
    return smx::log_softmax(x, y, o);
  });
  // logsumexp, weighted when b is given (b: x's shape, stride 0 where broadcast), with the sign
  // written to `sign` when given. An input that overlaps an output is copied first.
  m.def(
      "logsumexp",
      [](const InArray& x, const OutArray& out, int dim, const DTypeOverride& dtype,
         const std::optional<InArray>& b, const std::optional<OutArray>& sign) {
        if (!b && !sign) {
          smx_py::RunOp(
              x, out, dtype, /*allow_in_place=*/false,
              [&](const auto& in, const auto& y) { return smx::logsumexp(in, y, {.axis = dim}); });
          return;
        }
        if (!b) throw nb::value_error("logsumexp: sign needs the weights b");
        const smx::ConstTensorRef in = smx_py::InputRef(x, dtype), w = smx_py::InputRef(*b, dtype);
        const smx::TensorRef y = smx_py::OutputRef(out, dtype);
        std::optional<smx::TensorRef> s;
        if (sign) s = smx_py::OutputRef(*sign, dtype);
        smx::Status status;
        {
          nb::gil_scoped_release release;
          auto clash = [&](const smx::ConstTensorRef& v) {
            return smx_py::Overlaps(v, y) || (s && smx_py::Overlaps(v, *s));
          };
          std::optional<smx_py::ContiguousCopy> x_copy, b_copy;
          if (clash(in)) x_copy.emplace(in);
          if (clash(w)) b_copy.emplace(w);
          status = smx::logsumexp(x_copy ? x_copy->ref() : in, b_copy ? b_copy->ref() : w, y,
                                  s ? &*s : nullptr, {.axis = dim});
        }
        smx_py::ThrowIfError(status);
      },
      nb::arg("x"), nb::arg("out"), nb::arg("dim"), nb::arg("dtype") = nb::none(),
      nb::arg("b") = nb::none(), nb::arg("sign") = nb::none());
}

// An elementwise op (sigmoid, log_sigmoid, softplus): (x, out, dtype), in place allowed.
template <typename Op>
void DefElementwise(nb::module_& m, const char* name, Op op) {
  m.def(
      name,
      [op](const InArray& x, const OutArray& out, const DTypeOverride& dtype) {
        smx_py::RunOp(x, out, dtype, /*allow_in_place=*/true,
                      [&](const auto& in, const auto& y) { return op(in, y); });
      },
      nb::arg("x"), nb::arg("out"), nb::arg("dtype") = nb::none());
}

void BindSigmoid(nb::module_& m) {
  DefElementwise(m, "sigmoid", [](const auto& x, const auto& y) { return smx::sigmoid(x, y); });
  DefElementwise(m, "log_sigmoid",
                 [](const auto& x, const auto& y) { return smx::log_sigmoid(x, y); });
  DefElementwise(m, "softplus", [](const auto& x, const auto& y) { return smx::softplus(x, y); });
}

// A backward pass of the softmax kind: (a, b, out, dim, temperature, dtype).
template <typename Op>
void DefBackward(nb::module_& m, const char* name, Op op) {
  m.def(
      name,
      [op](const InArray& a, const InArray& b, const OutArray& out, int dim, double temperature,
           const DTypeOverride& dtype) {
        smx_py::RunOp2(a, b, out, dtype, [&](const auto& x, const auto& z, const auto& y) {
          return op(x, z, y, smx::BackwardOptions{.temperature = temperature, .axis = dim});
        });
      },
      nb::arg("a"), nb::arg("b"), nb::arg("out"), nb::arg("dim"), nb::arg("temperature"),
      nb::arg("dtype") = nb::none());
}

void BindCalculus(nb::module_& m) {
  DefBackward(m, "softmax_backward", [](const auto& g, const auto& y, const auto& dz, const auto& o) {
    return smx::softmax_backward(g, y, dz, o);
  });
  DefBackward(m, "log_softmax_backward",
              [](const auto& g, const auto& out, const auto& dz, const auto& o) {
                return smx::log_softmax_backward(g, out, dz, o);
              });
  DefBackward(m, "softmax_jvp", [](const auto& y, const auto& v, const auto& jv, const auto& o) {
    return smx::softmax_jvp(y, v, jv, o);
  });
  m.def(
      "entropy",
      [](const InArray& z, const OutArray& out, int dim, double temperature,
         const DTypeOverride& dtype) {
        smx_py::RunOp(z, out, dtype, /*allow_in_place=*/false, [&](const auto& in, const auto& h) {
          return smx::entropy(in, h, {.temperature = temperature, .axis = dim});
        });
      },
      nb::arg("z"), nb::arg("out"), nb::arg("dim"), nb::arg("temperature"),
      nb::arg("dtype") = nb::none());
  m.def(
      "softmax_jacobian",
      [](const InArray& z, const OutArray& jac, int dim, double temperature,
         const DTypeOverride& dtype) {
        smx_py::RunOp(z, jac, dtype, /*allow_in_place=*/false, [&](const auto& in, const auto& j) {
          return smx::softmax_jacobian(in, j, {.temperature = temperature, .axis = dim});
        });
      },
      nb::arg("z"), nb::arg("out"), nb::arg("dim"), nb::arg("temperature"),
      nb::arg("dtype") = nb::none());
}

void BindRuntime(nb::module_& m) {
  m.def("set_num_threads", &smx::set_num_threads, nb::arg("n"));
  m.def("get_num_threads", &smx::get_num_threads);
  m.def("version", &smx::version);
  m.def("simd_target", &smx::simd_target);
  m.def("compiled_targets", &smx::compiled_targets);
  m.def("empty_numpy", &smx_py::EmptyNumPy, nb::arg("shape"), nb::arg("dtype"));
  m.def("configure_allocator", &smx_py::ConfigureAllocator, nb::arg("huge_pages"),
        nb::arg("cache_bytes"));
  m.def("allocator_info", &smx_py::AllocatorInfo);
}

}  // namespace

NB_MODULE(_smx, m) {
  m.doc() = "smx kernels (private; use the smx package)";
  BindRuntime(m);
  BindSoftmax(m);
  BindSigmoid(m);
  BindCalculus(m);
  smx_py::BindLosses(m);
  smx_py::BindAttention(m);
  smx_py::BindSampling(m);
}
