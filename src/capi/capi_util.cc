// The shared plumbing of the C API (see capi_util.h) and its status functions.
#include "capi/capi_util.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>

namespace smx::capi {
namespace {

static_assert(static_cast<int>(SMX_OK) == static_cast<int>(StatusCode::kOk));
static_assert(static_cast<int>(SMX_INVALID_ARGUMENT) ==
              static_cast<int>(StatusCode::kInvalidArgument));
static_assert(static_cast<int>(SMX_INTERNAL) == static_cast<int>(StatusCode::kInternal));
static_assert(static_cast<int>(SMX_F32) == static_cast<int>(DType::kF32) &&
              static_cast<int>(SMX_F64) == static_cast<int>(DType::kF64) &&
              static_cast<int>(SMX_F16) == static_cast<int>(DType::kF16) &&
              static_cast<int>(SMX_BF16) == static_cast<int>(DType::kBF16));
static_assert(SMX_MAX_RANK == kMaxRank);

// This thread's last error. When even recording the message runs out of memory, `lost` says so
// and smx_last_error_message() returns a constant instead.
struct LastError {
  std::string message;
  bool lost = false;
};
thread_local LastError last_error;

void Record(const char* function, const char* what) noexcept {
  try {
    last_error.message.clear();
    if (function != nullptr) {
      last_error.message += function;
      last_error.message += ": ";
    }
    last_error.message += what;
    last_error.lost = false;
  } catch (...) {
    last_error.lost = true;
  }
}

smx_status ToC(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return SMX_OK;
    case StatusCode::kInvalidArgument: return SMX_INVALID_ARGUMENT;
    case StatusCode::kInternal: return SMX_INTERNAL;
  }
  return SMX_INTERNAL;
}

// Checks the fields that the C++ view cannot represent and builds its layout.
Status ToLayout(const char* function, const char* name, const smx_tensor* tensor, DType& dtype,
                Layout& layout) {
  const std::string where = std::string(function) + ": " + name;
  if (tensor == nullptr) return Status::InvalidArgument(where + " is NULL");
  if (tensor->dtype < SMX_F32 || tensor->dtype > SMX_BF16) {
    return Status::InvalidArgument(where + " has dtype " + std::to_string(tensor->dtype) +
                                   ", not one of SMX_F32 (0), SMX_F64 (1), SMX_F16 (2), " +
                                   "SMX_BF16 (3)");
  }
  if (tensor->rank < 0 || tensor->rank > SMX_MAX_RANK) {
    return Status::InvalidArgument(where + " has rank " + std::to_string(tensor->rank) +
                                   ", not in [0, " + std::to_string(SMX_MAX_RANK) + "]");
  }
  if (tensor->shape == nullptr && tensor->rank > 0) {
    return Status::InvalidArgument(where + " has a NULL shape and rank " +
                                   std::to_string(tensor->rank));
  }
  dtype = static_cast<DType>(tensor->dtype);
  const auto rank = static_cast<std::size_t>(tensor->rank);
  const std::span<const std::int64_t> shape(tensor->shape, rank);
  layout = tensor->strides == nullptr
               ? Layout::Contiguous(shape)
               : Layout::Strided(shape, std::span<const std::int64_t>(tensor->strides, rank));
  return Status::Ok();
}

}  // namespace

smx_status Report(const Status& status) noexcept {
  if (status.ok()) return SMX_OK;
  Record(nullptr, status.message().c_str());
  return ToC(status.code());
}

smx_status Fail(smx_status code, const char* function, const char* what) noexcept {
  Record(function, what);
  return code;
}

Status ToConstRef(const char* function, const char* name, const smx_tensor* tensor,
                  ConstTensorRef& ref) {
  if (Status s = ToLayout(function, name, tensor, ref.dtype, ref.layout); !s.ok()) return s;
  ref.data = tensor->data;
  return Status::Ok();
}

Status ToRef(const char* function, const char* name, const smx_tensor* tensor, TensorRef& ref) {
  if (Status s = ToLayout(function, name, tensor, ref.dtype, ref.layout); !s.ok()) return s;
  ref.data = tensor->data;
  return Status::Ok();
}

Status BlockShape(const char* function, std::size_t rows, std::size_t cols,
                  std::int64_t (&shape)[2]) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const auto r = static_cast<std::uint64_t>(rows);
  const auto c = static_cast<std::uint64_t>(cols);
  if (r > kMax || c > kMax || (c != 0 && r > kMax / c)) {
    return Status::InvalidArgument(std::string(function) + ": a [" + std::to_string(rows) + ", " +
                                   std::to_string(cols) + "] block has more elements than " +
                                   "an int64_t can count");
  }
  shape[0] = static_cast<std::int64_t>(r);
  shape[1] = static_cast<std::int64_t>(c);
  return Status::Ok();
}

}  // namespace smx::capi

extern "C" {

const char* smx_status_string(smx_status status) {
  // A C caller may pass any int; copying the bits avoids reading an out-of-range C++ enum.
  static_assert(sizeof(smx_status) == sizeof(int));
  int code = 0;
  std::memcpy(&code, &status, sizeof code);
  switch (code) {
    case SMX_OK: return "OK";
    case SMX_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case SMX_INTERNAL: return "INTERNAL";
    default: return "UNKNOWN";
  }
}

const char* smx_last_error_message(void) {
  const auto& e = smx::capi::last_error;
  return e.lost ? "smx: out of memory while recording the error message" : e.message.c_str();
}

}  // extern "C"
