// The C API seen from C++: smx/smx.h and smx/smx.hpp together, C results bitwise equal to the C++
// API's, the per-thread error message, and the guard that keeps exceptions inside the C boundary.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "capi/capi_util.h"
#include "smx/smx.h"
#include "smx/smx.hpp"

namespace {

std::vector<double> Logits(std::size_t n) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::sin(0.7 * static_cast<double>(i)) * 9.0 - 1.0;
  return v;
}

template <typename T>
void ExpectBitwiseEqual(const std::vector<T>& a, const std::vector<T>& b) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(T)), 0);
}

template <typename T>
void CompareWithCxx(smx_dtype dtype) {
  const std::int64_t shape[3] = {3, 5, 4};
  std::vector<T> x(60), y_c(60), y_cxx(60);
  const std::vector<double> v = Logits(60);
  for (int i = 0; i < 60; ++i) x[i] = static_cast<T>(v[i]);
  const smx_tensor tx = {x.data(), dtype, 3, shape, nullptr};
  const smx_tensor ty = {y_c.data(), dtype, 3, shape, nullptr};
  const smx::TensorView<const T> vx(x.data(), shape);
  const smx::TensorView<T> vy(y_cxx.data(), shape);
  for (int axis : {0, 1, 2, -1}) {
    for (double t : {1.0, 0.3, 0.0, HUGE_VAL}) {
      SCOPED_TRACE(testing::Message() << "axis " << axis << " T " << t);
      ASSERT_EQ(smx_softmax(&tx, &ty, axis, t), SMX_OK) << smx_last_error_message();
      ASSERT_TRUE(smx::softmax(vx, vy, {.temperature = t, .axis = axis}).ok());
      ExpectBitwiseEqual(y_c, y_cxx);
      ASSERT_EQ(smx_log_softmax(&tx, &ty, axis, t), SMX_OK) << smx_last_error_message();
      ASSERT_TRUE(smx::log_softmax(vx, vy, {.temperature = t, .axis = axis}).ok());
      ExpectBitwiseEqual(y_c, y_cxx);
    }
    std::int64_t out_shape[2];
    for (int d = 0, o = 0; d < 3; ++d) {
      if (d != (axis + 3) % 3) out_shape[o++] = shape[d];
    }
    std::vector<T> lse_c(out_shape[0] * out_shape[1]), lse_cxx(lse_c.size());
    const smx_tensor tout = {lse_c.data(), dtype, 2, out_shape, nullptr};
    ASSERT_EQ(smx_logsumexp(&tx, &tout, axis), SMX_OK) << smx_last_error_message();
    ASSERT_TRUE(
        smx::logsumexp(vx, smx::TensorView<T>(lse_cxx.data(), out_shape), {.axis = axis}).ok());
    ExpectBitwiseEqual(lse_c, lse_cxx);
  }
}

TEST(CApi, DescriptorsMatchCxxBitwiseF32) { CompareWithCxx<float>(SMX_F32); }
TEST(CApi, DescriptorsMatchCxxBitwiseF64) { CompareWithCxx<double>(SMX_F64); }

TEST(CApi, BlocksMatchCxxBitwise) {
  const std::vector<double> v = Logits(7 * 300);
  std::vector<float> x(v.begin(), v.end()), y_c(x.size()), y_cxx(x.size());
  ASSERT_EQ(smx_softmax_f32(x.data(), y_c.data(), 7, 300, 0.7), SMX_OK);
  ASSERT_TRUE(smx::softmax(x.data(), y_cxx.data(), 7, 300, {.temperature = 0.7}).ok());
  ExpectBitwiseEqual(y_c, y_cxx);
  std::vector<double> yd_c(v.size()), yd_cxx(v.size());
  ASSERT_EQ(smx_log_softmax_f64(v.data(), yd_c.data(), 7, 300, 2.5), SMX_OK);
  ASSERT_TRUE(smx::log_softmax(v.data(), yd_cxx.data(), 7, 300, {.temperature = 2.5}).ok());
  ExpectBitwiseEqual(yd_c, yd_cxx);
  std::vector<double> l_c(7), l_cxx(7);
  ASSERT_EQ(smx_logsumexp_f64(v.data(), l_c.data(), 7, 300), SMX_OK);
  ASSERT_TRUE(smx::logsumexp(v.data(), l_cxx.data(), 7, 300).ok());
  ExpectBitwiseEqual(l_c, l_cxx);
}

TEST(CApi, ErrorMessageIsPerThread) {
  float x[3] = {1, 2, 3}, y[3];
  ASSERT_EQ(smx_softmax_f32(x, y, 1, 3, -7.0), SMX_INVALID_ARGUMENT);
  std::string other_before, other_after;
  std::thread([&] {
    other_before = smx_last_error_message();
    const std::int64_t n[1] = {3};
    const smx_tensor t = {x, SMX_F32, 1, n, nullptr};
    EXPECT_EQ(smx_softmax(&t, &t, 4, 1.0), SMX_INVALID_ARGUMENT);
    other_after = smx_last_error_message();
  }).join();
  EXPECT_EQ(other_before, "");
  EXPECT_NE(other_after.find("axis 4"), std::string::npos) << other_after;
  EXPECT_NE(std::string(smx_last_error_message()).find("-7"), std::string::npos)
      << smx_last_error_message();
}

TEST(CApi, GuardKeepsExceptionsInside) {
  EXPECT_EQ(smx::capi::Guard("f", []() -> smx::Status { throw std::runtime_error("boom"); }),
            SMX_INTERNAL);
  EXPECT_STREQ(smx_last_error_message(), "f: boom");
  EXPECT_EQ(smx::capi::Guard("g", []() -> smx::Status { throw std::bad_alloc(); }), SMX_INTERNAL);
  EXPECT_STREQ(smx_last_error_message(), "g: out of memory");
  EXPECT_EQ(smx::capi::Guard("h", []() -> smx::Status { throw 42; }), SMX_INTERNAL);
  EXPECT_STREQ(smx_last_error_message(), "h: unknown exception");
  EXPECT_EQ(smx::capi::Guard("i", [] { return smx::Status(smx::StatusCode::kInternal, "bad"); }),
            SMX_INTERNAL);
  EXPECT_STREQ(smx_last_error_message(), "bad");
  EXPECT_EQ(smx::capi::Guard("j", [] { return smx::Status::Ok(); }), SMX_OK);
  EXPECT_STREQ(smx_last_error_message(), "bad");
}

}  // namespace
