// Attention in smx._smx: scaled_dot_product_attention and its backward pass. The Python layer
// (python/smx/_attention.py) checks the arguments and allocates the outputs; here the views and
// options are built, inputs that overlap an output are copied, and the kernel runs without the
// GIL.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "array.h"
#include "smx/attention.h"

namespace smx_py {
namespace {

// The options as Python passes them: a boolean mask arrives as its bytes (uint8), an additive one
// in q's dtype.
struct OptionArgs {
  std::optional<InArray> mask;
  bool mask_is_bool = false;
  bool is_causal = false;
  std::string alignment;
  std::optional<double> scale;
  bool enable_gqa = false;
  double softcap = 0;
  std::optional<InArray> sinks, slopes;
};

// The inputs of one call, each copied when it overlaps one of the outputs.
class Inputs {
 public:
  explicit Inputs(std::vector<smx::TensorRef> outputs) : outputs_(std::move(outputs)) {}
  smx::ConstTensorRef Keep(const smx::ConstTensorRef& x) {
    for (const smx::TensorRef& out : outputs_) {
      if (Overlaps(x, out)) {
        copies_.emplace_back(std::make_unique<ContiguousCopy>(x));
        return copies_.back()->ref();
      }
    }
    return x;
  }

 private:
  std::vector<smx::TensorRef> outputs_;
  std::vector<std::unique_ptr<ContiguousCopy>> copies_;
};

// The options (their arrays kept, or copied, through `inputs`).
smx::AttentionOptions OptionsOf(const OptionArgs& a, const DTypeOverride& dtype, Inputs& inputs) {
  smx::AttentionOptions o;
  if (a.mask) {
    if (a.mask_is_bool) {
      const smx::ConstTensorRef bytes{a.mask->data(), smx::DType::kF32, MaskLayout(*a.mask)};
      o.attn_mask = smx::AttentionMask::Bool(static_cast<const bool*>(bytes.data), bytes.layout);
    } else {
      o.attn_mask = smx::AttentionMask::Additive(inputs.Keep(InputRef(*a.mask, dtype)));
    }
  }
  o.is_causal = a.is_causal;
  if (!smx::parse_causal_alignment(a.alignment.c_str(), o.causal_alignment)) {
    throw nb::value_error(("causal_alignment must be 'top_left' or 'lower_right', got '" +
                           a.alignment + "'")
                              .c_str());
  }
  o.scale = a.scale;
  o.enable_gqa = a.enable_gqa;
  o.softcap = a.softcap;
  if (a.sinks) o.sinks = inputs.Keep(InputRef(*a.sinks, dtype));
  if (a.slopes) o.alibi_slopes = inputs.Keep(InputRef(*a.slopes, dtype));
  return o;
}

}  // namespace

void BindAttention(nb::module_& m) {
  nb::class_<OptionArgs>(m, "AttentionOptionArgs")
      .def(nb::init<>())
      .def_rw("mask", &OptionArgs::mask)
      .def_rw("mask_is_bool", &OptionArgs::mask_is_bool)
      .def_rw("is_causal", &OptionArgs::is_causal)
      .def_rw("alignment", &OptionArgs::alignment)
      .def_rw("scale", &OptionArgs::scale)
      .def_rw("enable_gqa", &OptionArgs::enable_gqa)
      .def_rw("softcap", &OptionArgs::softcap)
      .def_rw("sinks", &OptionArgs::sinks)
      .def_rw("slopes", &OptionArgs::slopes);

  m.def(
      "scaled_dot_product_attention",
      [](const InArray& q, const InArray& k, const InArray& v, const OutArray& out,
         const std::optional<OutArray>& lse, const OptionArgs& args, const DTypeOverride& dtype) {
        const smx::TensorRef o = OutputRef(out, dtype);
        std::optional<smx::TensorRef> l;
        if (lse) l = OutputRef(*lse, std::nullopt);
        const smx::ConstTensorRef qr = InputRef(q, dtype), kr = InputRef(k, dtype),
                                  vr = InputRef(v, dtype);
        std::vector<smx::TensorRef> outputs{o};
        if (l) outputs.push_back(*l);
        Inputs inputs(outputs);
        const smx::AttentionOptions options = OptionsOf(args, dtype, inputs);
        smx::Status status;
        {
          nb::gil_scoped_release release;
          const smx::ConstTensorRef qk = inputs.Keep(qr), kk = inputs.Keep(kr),
                                    vk = inputs.Keep(vr);
          status = l ? smx::scaled_dot_product_attention(qk, kk, vk, o, *l, options)
                     : smx::scaled_dot_product_attention(qk, kk, vk, o, options);
        }
        ThrowIfError(status);
      },
      nb::arg("q"), nb::arg("k"), nb::arg("v"), nb::arg("out"), nb::arg("lse").none(),
      nb::arg("options"), nb::arg("dtype") = nb::none());

  m.def(
      "scaled_dot_product_attention_backward",
      [](const InArray& grad_out, const InArray& q, const InArray& k, const InArray& v,
         const InArray& out, const InArray& lse, const OutArray& dq, const OutArray& dk,
         const OutArray& dv, const OptionArgs& args, const DTypeOverride& dtype) {
        const smx::TensorRef dqr = OutputRef(dq, dtype), dkr = OutputRef(dk, dtype),
                             dvr = OutputRef(dv, dtype);
        Inputs inputs({dqr, dkr, dvr});
        const smx::AttentionOptions options = OptionsOf(args, dtype, inputs);
        const smx::ConstTensorRef gr = InputRef(grad_out, dtype), qr = InputRef(q, dtype),
                                  kr = InputRef(k, dtype), vr = InputRef(v, dtype),
                                  orf = InputRef(out, dtype), lr = InputRef(lse, std::nullopt);
        smx::Status status;
        {
          nb::gil_scoped_release release;
          status = smx::scaled_dot_product_attention_backward(
              inputs.Keep(gr), inputs.Keep(qr), inputs.Keep(kr), inputs.Keep(vr),
              inputs.Keep(orf), inputs.Keep(lr), dqr, dkr, dvr, options);
        }
        ThrowIfError(status);
      },
      nb::arg("grad_out"), nb::arg("q"), nb::arg("k"), nb::arg("v"), nb::arg("out"),
      nb::arg("lse"), nb::arg("dq"), nb::arg("dk"), nb::arg("dv"), nb::arg("options"),
      nb::arg("dtype") = nb::none());
}

}  // namespace smx_py
