// The C API of attention (include/smx/smx.h): each function is the C++ call of smx/attention.h
// inside capi::Guard.
#include <string>
#include <tuple>

#include "capi/capi_util.h"
#include "smx/attention.h"
#include "smx/smx.h"

namespace smx::capi {
namespace {

Status ToOptions(const char* function, const smx_attention_options* c, AttentionOptions& o) {
  const smx_attention_options a = c != nullptr ? *c : smx_attention_defaults();
  if (a.mask_kind < SMX_MASK_NONE || a.mask_kind > SMX_MASK_ADDITIVE) {
    return Status::InvalidArgument(std::string(function) + ": mask_kind " +
                                   std::to_string(a.mask_kind) +
                                   " is not an smx_mask_kind (0 none, 1 bool, 2 additive)");
  }
  if (a.causal_alignment != SMX_CAUSAL_TOP_LEFT && a.causal_alignment != SMX_CAUSAL_LOWER_RIGHT) {
    return Status::InvalidArgument(std::string(function) + ": causal_alignment " +
                                   std::to_string(a.causal_alignment) +
                                   " is not an smx_causal_alignment (0 top-left, 1 lower-right)");
  }
  if (a.mask_kind != SMX_MASK_NONE) {
    if (a.mask == nullptr) {
      return Status::InvalidArgument(std::string(function) + ": mask_kind is " +
                                     std::to_string(a.mask_kind) + " but mask is NULL");
    }
    smx_tensor mask = *a.mask;
    if (a.mask_kind == SMX_MASK_BOOL) mask.dtype = SMX_F32;  // bytes: the dtype is not used
    ConstTensorRef ref;
    if (Status s = ToConstRef(function, "mask", &mask, ref); !s.ok()) return s;
    o.attn_mask = a.mask_kind == SMX_MASK_BOOL
                      ? AttentionMask::Bool(static_cast<const bool*>(ref.data), ref.layout)
                      : AttentionMask::Additive(ref);
  }
  o.is_causal = a.is_causal != 0;
  o.causal_alignment = a.causal_alignment == SMX_CAUSAL_LOWER_RIGHT ? CausalAlignment::kLowerRight
                                                                    : CausalAlignment::kTopLeft;
  o.enable_gqa = a.enable_gqa != 0;
  if (a.has_scale != 0) o.scale = a.scale;
  o.softcap = a.softcap;
  if (a.sinks != nullptr) {
    if (Status s = ToConstRef(function, "sinks", a.sinks, o.sinks); !s.ok()) return s;
  }
  if (a.alibi_slopes != nullptr) {
    if (Status s = ToConstRef(function, "alibi_slopes", a.alibi_slopes, o.alibi_slopes); !s.ok()) {
      return s;
    }
  }
  return Status::Ok();
}

}  // namespace
}  // namespace smx::capi

extern "C" {

smx_attention_options smx_attention_defaults(void) {
  return {SMX_MASK_NONE, 0, SMX_CAUSAL_TOP_LEFT, 0, 0, 0.0, 0.0, nullptr, nullptr, nullptr};
}

smx_status smx_scaled_dot_product_attention(const smx_tensor* q, const smx_tensor* k,
                                            const smx_tensor* v, const smx_tensor* out,
                                            const smx_tensor* lse,
                                            const smx_attention_options* options) {
  constexpr const char* kFn = "smx_scaled_dot_product_attention";
  return smx::capi::Guard(kFn, [&]() -> smx::Status {
    smx::ConstTensorRef qr, kr, vr;
    smx::TensorRef o, l;
    smx::AttentionOptions opts;
    if (smx::Status s = smx::capi::ToConstRef(kFn, "q", q, qr); !s.ok()) return s;
    if (smx::Status s = smx::capi::ToConstRef(kFn, "k", k, kr); !s.ok()) return s;
    if (smx::Status s = smx::capi::ToConstRef(kFn, "v", v, vr); !s.ok()) return s;
    if (smx::Status s = smx::capi::ToRef(kFn, "out", out, o); !s.ok()) return s;
    if (lse != nullptr) {
      if (smx::Status s = smx::capi::ToRef(kFn, "lse", lse, l); !s.ok()) return s;
    }
    if (smx::Status s = smx::capi::ToOptions(kFn, options, opts); !s.ok()) return s;
    return lse != nullptr ? smx::scaled_dot_product_attention(qr, kr, vr, o, l, opts)
                          : smx::scaled_dot_product_attention(qr, kr, vr, o, opts);
  });
}

smx_status smx_scaled_dot_product_attention_backward(const smx_tensor* grad_out,
                                                     const smx_tensor* q, const smx_tensor* k,
                                                     const smx_tensor* v, const smx_tensor* out,
                                                     const smx_tensor* lse, const smx_tensor* dq,
                                                     const smx_tensor* dk, const smx_tensor* dv,
                                                     const smx_attention_options* options) {
  constexpr const char* kFn = "smx_scaled_dot_product_attention_backward";
  return smx::capi::Guard(kFn, [&]() -> smx::Status {
    smx::ConstTensorRef gr, qr, kr, vr, orf, lr;
    smx::TensorRef dqr, dkr, dvr;
    smx::AttentionOptions opts;
    for (auto [name, t, ref] : {std::tuple<const char*, const smx_tensor*, smx::ConstTensorRef*>{
                                    "grad_out", grad_out, &gr},
                                {"q", q, &qr},
                                {"k", k, &kr},
                                {"v", v, &vr},
                                {"out", out, &orf},
                                {"lse", lse, &lr}}) {
      if (smx::Status s = smx::capi::ToConstRef(kFn, name, t, *ref); !s.ok()) return s;
    }
    if (smx::Status s = smx::capi::ToRef(kFn, "dq", dq, dqr); !s.ok()) return s;
    if (smx::Status s = smx::capi::ToRef(kFn, "dk", dk, dkr); !s.ok()) return s;
    if (smx::Status s = smx::capi::ToRef(kFn, "dv", dv, dvr); !s.ok()) return s;
    if (smx::Status s = smx::capi::ToOptions(kFn, options, opts); !s.ok()) return s;
    return smx::scaled_dot_product_attention_backward(gr, qr, kr, vr, orf, lr, dqr, dkr, dvr, opts);
  });
}

}  // extern "C"
