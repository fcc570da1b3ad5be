// The plumbing every C API function shares (include/smx/smx.h): the error path from smx::Status
// to smx_status and the per-thread message, the guard that keeps exceptions inside, and the
// conversion of smx_tensor descriptors to the C++ views. A new family (losses, attention,
// sampling) adds a <family>_capi.cc whose functions are one Guard around C++ calls:
//
//   smx_status smx_foo(const smx_tensor* x, const smx_tensor* y) {
//     return capi::Guard("smx_foo", [&]() -> Status {
//       ConstTensorRef xr;
//       TensorRef yr;
//       if (Status s = capi::ToConstRef("smx_foo", "x", x, xr); !s.ok()) return s;
//       if (Status s = capi::ToRef("smx_foo", "y", y, yr); !s.ok()) return s;
//       return smx::foo(xr, yr);
//     });
//   }
#ifndef SMX_CAPI_CAPI_UTIL_H_
#define SMX_CAPI_CAPI_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>

#include "smx/smx.h"
#include "smx/status.h"
#include "smx/tensor.h"

namespace smx::capi {

// Records `status`'s message as this thread's last error when it is not ok; returns its C code.
smx_status Report(const Status& status) noexcept;

// Records "<function>: <what>" as this thread's last error; returns `code`.
smx_status Fail(smx_status code, const char* function, const char* what) noexcept;

// Runs `body` (returning a Status) and reports its result. An exception becomes SMX_INTERNAL with
// its message: nothing is thrown across the C boundary.
template <typename Body>
smx_status Guard(const char* function, Body&& body) noexcept {
  try {
    return Report(body());
  } catch (const std::bad_alloc&) {
    return Fail(SMX_INTERNAL, function, "out of memory");
  } catch (const std::exception& e) {
    return Fail(SMX_INTERNAL, function, e.what());
  } catch (...) {
    return Fail(SMX_INTERNAL, function, "unknown exception");
  }
}

// The view that `tensor` describes. A NULL descriptor, a dtype that is not an smx_dtype, a rank
// outside [0, SMX_MAX_RANK] or a NULL shape with rank > 0 is an InvalidArgument naming `name`;
// data, sizes and strides are checked by the op itself.
Status ToConstRef(const char* function, const char* name, const smx_tensor* tensor,
                  ConstTensorRef& ref);
Status ToRef(const char* function, const char* name, const smx_tensor* tensor, TensorRef& ref);

// The shape {rows, cols} of a contiguous block, or an InvalidArgument when a size or the number
// of elements does not fit an int64_t.
Status BlockShape(const char* function, std::size_t rows, std::size_t cols,
                  std::int64_t (&shape)[2]);

}  // namespace smx::capi

#endif  // SMX_CAPI_CAPI_UTIL_H_
