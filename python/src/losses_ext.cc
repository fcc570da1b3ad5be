// The losses in smx._smx: cross_entropy (class indices), cross_entropy_probs and kl_div_distill.
// The Python layer (python/smx/_losses.py) checks the arguments and allocates the outputs; here
// the views are built, inputs that overlap an output are copied (the logits may be the gradient
// itself: in place), and the kernel runs without the GIL.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "array.h"
#include "smx/losses.h"

namespace smx_py {
namespace {

smx::Reduction ReductionOf(const std::string& name) {
  smx::Reduction r;
  if (!smx::parse_reduction(name.c_str(), r)) {
    throw nb::value_error(("reduction must be 'none', 'sum' or 'mean', got '" + name + "'").c_str());
  }
  return r;
}

// The inputs of one loss call, copied where they overlap an output: the logits unless they are
// the gradient's own view (in place), every other input on any overlap.
class LossInputs {
 public:
  LossInputs(const smx::TensorRef& loss, const std::optional<smx::TensorRef>& grad)
      : loss_(loss), grad_(grad) {}

  smx::ConstTensorRef Logits(const smx::ConstTensorRef& x) {
    const bool in_place = grad_ && SameView(x, *grad_);
    return Keep(x, Overlaps(x, loss_) || (grad_ && Overlaps(x, *grad_) && !in_place));
  }
  smx::ConstTensorRef Other(const smx::ConstTensorRef& x) {
    return Keep(x, Overlaps(x, loss_) || (grad_ && Overlaps(x, *grad_)));
  }

 private:
  smx::ConstTensorRef Keep(const smx::ConstTensorRef& x, bool copy) {
    if (!copy) return x;
    copies_.emplace_back(std::make_unique<ContiguousCopy>(x));
    return copies_.back()->ref();
  }
  smx::TensorRef loss_;
  std::optional<smx::TensorRef> grad_;
  std::vector<std::unique_ptr<ContiguousCopy>> copies_;
};

std::optional<smx::TensorRef> GradRef(const std::optional<OutArray>& grad,
                                      const DTypeOverride& dtype) {
  if (!grad) return std::nullopt;
  return OutputRef(*grad, dtype);
}

// The class indices as the kernel reads them: the caller's own int64 values when they are
// contiguous and no output overlaps them, else a private copy (N values), so that nothing the
// kernel writes can change them. The copy used to be unconditional, through a strided index
// loop: 0.1 ms of a 0.55 ms call on [32768, 128] at 2 threads.
class ClassIndices {
 public:
  ClassIndices(const InArray& target, const smx::TensorRef& loss,
               const std::optional<smx::TensorRef>& grad) {
    const auto* base = static_cast<const std::int64_t*>(target.data());
    const std::size_t n = target.size();
    bool contiguous = true;
    std::int64_t expected_stride = 1;
    for (std::size_t d = target.ndim(); d-- > 0;) {
      if (target.shape(d) != 1 && target.stride(d) != expected_stride) contiguous = false;
      expected_stride *= static_cast<std::int64_t>(target.shape(d));
    }
    if (contiguous) {
      const std::size_t bytes = n * sizeof(std::int64_t);
      if (!OverlapsBytes(base, bytes, loss) && !(grad && OverlapsBytes(base, bytes, *grad))) {
        span_ = std::span<const std::int64_t>(base, n);
        return;
      }
      copy_.assign(base, base + n);
    } else {
      copy_.resize(n);
      std::vector<std::int64_t> index(target.ndim(), 0);
      for (std::size_t i = 0; i < n; ++i) {
        std::int64_t offset = 0;
        for (std::size_t d = 0; d < target.ndim(); ++d) offset += index[d] * target.stride(d);
        copy_[i] = base[offset];
        for (std::size_t d = target.ndim(); d-- > 0;) {
          if (++index[d] < static_cast<std::int64_t>(target.shape(d))) break;
          index[d] = 0;
        }
      }
    }
    span_ = copy_;
  }
  ClassIndices(const ClassIndices&) = delete;
  ClassIndices& operator=(const ClassIndices&) = delete;
  std::span<const std::int64_t> span() const { return span_; }

 private:
  std::vector<std::int64_t> copy_;
  std::span<const std::int64_t> span_;
};

}  // namespace

void BindLosses(nb::module_& m) {
  m.def(
      "cross_entropy",
      [](const InArray& logits, const InArray& target, const OutArray& loss,
         const std::optional<OutArray>& grad, int dim, const std::string& reduction,
         std::int64_t ignore_index, double label_smoothing, const std::optional<InArray>& weight,
         const DTypeOverride& dtype) {
        if (target.dtype() != nb::dtype<std::int64_t>()) {
          throw nb::type_error("cross_entropy: the class indices must be int64");
        }
        const smx::TensorRef l = OutputRef(loss, dtype);
        const std::optional<smx::TensorRef> g = GradRef(grad, dtype);
        const ClassIndices t(target, l, g);
        smx::CrossEntropyOptions o{.reduction = ReductionOf(reduction),
                                   .ignore_index = ignore_index,
                                   .label_smoothing = label_smoothing,
                                   .axis = dim};
        const smx::ConstTensorRef z = InputRef(logits, dtype);
        std::optional<smx::ConstTensorRef> w;
        if (weight) w = InputRef(*weight, dtype);
        smx::Status status;
        {
          nb::gil_scoped_release release;
          LossInputs inputs(l, g);
          const smx::ConstTensorRef zr = inputs.Logits(z);
          if (w) o.weight = inputs.Other(*w);
          status = g ? smx::cross_entropy(zr, t.span(), l, *g, o)
                     : smx::cross_entropy(zr, t.span(), l, o);
        }
        ThrowIfError(status);
      },
      nb::arg("logits"), nb::arg("target"), nb::arg("loss"), nb::arg("grad").none(),
      nb::arg("dim"), nb::arg("reduction"), nb::arg("ignore_index"), nb::arg("label_smoothing"),
      nb::arg("weight").none(), nb::arg("dtype") = nb::none());

  m.def(
      "cross_entropy_probs",
      [](const InArray& logits, const InArray& target, const OutArray& loss,
         const std::optional<OutArray>& grad, int dim, const std::string& reduction,
         double label_smoothing, const std::optional<InArray>& weight, const DTypeOverride& dtype) {
        smx::CrossEntropyOptions o{.reduction = ReductionOf(reduction),
                                   .label_smoothing = label_smoothing,
                                   .axis = dim};
        const smx::TensorRef l = OutputRef(loss, dtype);
        const std::optional<smx::TensorRef> g = GradRef(grad, dtype);
        const smx::ConstTensorRef z = InputRef(logits, dtype), p = InputRef(target, dtype);
        std::optional<smx::ConstTensorRef> w;
        if (weight) w = InputRef(*weight, dtype);
        smx::Status status;
        {
          nb::gil_scoped_release release;
          LossInputs inputs(l, g);
          const smx::ConstTensorRef zr = inputs.Logits(z), pr = inputs.Other(p);
          if (w) o.weight = inputs.Other(*w);
          status = g ? smx::cross_entropy_probs(zr, pr, l, *g, o)
                     : smx::cross_entropy_probs(zr, pr, l, o);
        }
        ThrowIfError(status);
      },
      nb::arg("logits"), nb::arg("target"), nb::arg("loss"), nb::arg("grad").none(),
      nb::arg("dim"), nb::arg("reduction"), nb::arg("label_smoothing"), nb::arg("weight").none(),
      nb::arg("dtype") = nb::none());

  m.def(
      "kl_div_distill",
      [](const InArray& student, const InArray& teacher, const OutArray& loss,
         const std::optional<OutArray>& grad, int dim, double temperature,
         const DTypeOverride& dtype) {
        const smx::TensorRef l = OutputRef(loss, dtype);
        const std::optional<smx::TensorRef> g = GradRef(grad, dtype);
        const smx::ConstTensorRef s = InputRef(student, dtype), t = InputRef(teacher, dtype);
        const smx::DistillOptions o{.temperature = temperature, .axis = dim};
        smx::Status status;
        {
          nb::gil_scoped_release release;
          LossInputs inputs(l, g);
          const smx::ConstTensorRef sr = inputs.Logits(s), tr = inputs.Other(t);
          status = g ? smx::kl_div_distill(sr, tr, l, *g, o) : smx::kl_div_distill(sr, tr, l, o);
        }
        ThrowIfError(status);
      },
      nb::arg("student"), nb::arg("teacher"), nb::arg("loss"), nb::arg("grad").none(),
      nb::arg("dim"), nb::arg("temperature"), nb::arg("dtype") = nb::none());
}

}  // namespace smx_py
