// The C API of the losses (include/smx/smx.h): each function is the C++ call of smx/losses.h
// inside capi::Guard.
#include <cstdint>
#include <span>
#include <string>

#include "capi/capi_util.h"
#include "smx/losses.h"
#include "smx/smx.h"

namespace smx::capi {
namespace {

// The C options as C++ ones (weight resolved into *weight_ref).
Status ToOptions(const char* function, const smx_cross_entropy_options* c,
                 CrossEntropyOptions& options) {
  const smx_cross_entropy_options o = c != nullptr ? *c : smx_cross_entropy_defaults();
  if (o.reduction < SMX_REDUCTION_NONE || o.reduction > SMX_REDUCTION_MEAN) {
    return Status::InvalidArgument(std::string(function) + ": reduction " +
                                   std::to_string(o.reduction) +
                                   " is not an smx_reduction (0 none, 1 sum, 2 mean)");
  }
  options.reduction = static_cast<Reduction>(o.reduction);
  options.axis = o.axis;
  options.ignore_index = o.ignore_index;
  options.label_smoothing = o.label_smoothing;
  if (o.weight != nullptr) {
    if (Status s = ToConstRef(function, "weight", o.weight, options.weight); !s.ok()) return s;
  }
  return Status::Ok();
}

// loss and the optional grad.
Status Outputs(const char* function, const smx_tensor* loss, const smx_tensor* grad,
               TensorRef& loss_ref, TensorRef& grad_ref) {
  if (Status s = ToRef(function, "loss", loss, loss_ref); !s.ok()) return s;
  if (grad != nullptr) return ToRef(function, "grad", grad, grad_ref);
  return Status::Ok();
}

}  // namespace
}  // namespace smx::capi

extern "C" {

smx_cross_entropy_options smx_cross_entropy_defaults(void) {
  return {SMX_REDUCTION_MEAN, -1, -100, 0.0, nullptr};
}

smx_status smx_cross_entropy(const smx_tensor* logits, const int64_t* target, int64_t num_targets,
                             const smx_tensor* loss, const smx_tensor* grad,
                             const smx_cross_entropy_options* options) {
  constexpr const char* kFn = "smx_cross_entropy";
  return smx::capi::Guard(kFn, [&]() -> smx::Status {
    smx::ConstTensorRef z;
    smx::TensorRef l, g;
    smx::CrossEntropyOptions o;
    if (smx::Status s = smx::capi::ToConstRef(kFn, "logits", logits, z); !s.ok()) return s;
    if (smx::Status s = smx::capi::Outputs(kFn, loss, grad, l, g); !s.ok()) return s;
    if (smx::Status s = smx::capi::ToOptions(kFn, options, o); !s.ok()) return s;
    if (num_targets < 0 || (target == nullptr && num_targets > 0)) {
      return smx::Status::InvalidArgument(std::string(kFn) + ": target is null or num_targets (" +
                                          std::to_string(num_targets) + ") is negative");
    }
    const std::span<const std::int64_t> t(target, static_cast<std::size_t>(num_targets));
    return grad != nullptr ? smx::cross_entropy(z, t, l, g, o) : smx::cross_entropy(z, t, l, o);
  });
}

smx_status smx_cross_entropy_probs(const smx_tensor* logits, const smx_tensor* target,
                                   const smx_tensor* loss, const smx_tensor* grad,
                                   const smx_cross_entropy_options* options) {
  constexpr const char* kFn = "smx_cross_entropy_probs";
  return smx::capi::Guard(kFn, [&]() -> smx::Status {
    smx::ConstTensorRef z, p;
    smx::TensorRef l, g;
    smx::CrossEntropyOptions o;
    if (smx::Status s = smx::capi::ToConstRef(kFn, "logits", logits, z); !s.ok()) return s;
    if (smx::Status s = smx::capi::ToConstRef(kFn, "target", target, p); !s.ok()) return s;
    if (smx::Status s = smx::capi::Outputs(kFn, loss, grad, l, g); !s.ok()) return s;
    if (smx::Status s = smx::capi::ToOptions(kFn, options, o); !s.ok()) return s;
    return grad != nullptr ? smx::cross_entropy_probs(z, p, l, g, o)
                           : smx::cross_entropy_probs(z, p, l, o);
  });
}

smx_status smx_kl_div_distill(const smx_tensor* student, const smx_tensor* teacher,
                              const smx_tensor* loss, const smx_tensor* grad, int32_t axis,
                              double temperature) {
  constexpr const char* kFn = "smx_kl_div_distill";
  return smx::capi::Guard(kFn, [&]() -> smx::Status {
    smx::ConstTensorRef s_ref, t_ref;
    smx::TensorRef l, g;
    if (smx::Status s = smx::capi::ToConstRef(kFn, "student", student, s_ref); !s.ok()) return s;
    if (smx::Status s = smx::capi::ToConstRef(kFn, "teacher", teacher, t_ref); !s.ok()) return s;
    if (smx::Status s = smx::capi::Outputs(kFn, loss, grad, l, g); !s.ok()) return s;
    const smx::DistillOptions o{.temperature = temperature, .axis = axis};
    return grad != nullptr ? smx::kl_div_distill(s_ref, t_ref, l, g, o)
                           : smx::kl_div_distill(s_ref, t_ref, l, o);
  });
}

}  // extern "C"
