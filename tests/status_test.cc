// Bad input: each op returns a non-ok Status (kInvalidArgument) whose message names the bad
// value, and does not crash. Also: valid but unusual inputs are accepted (keepdim logsumexp, a
// null pointer with nothing to read).
#include <algorithm>
#include <cctype>

#include "test_util.h"

namespace smx_test {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The status is an InvalidArgument error whose message contains every one of `needles`
// (case-insensitive).
::testing::AssertionResult IsInvalid(const smx::Status& s,
                                     std::initializer_list<const char*> needles) {
  if (s.ok()) return ::testing::AssertionFailure() << "returned ok";
  if (s.code() != smx::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure()
           << "code " << static_cast<int>(s.code()) << ", message: " << s.message();
  }
  for (const char* n : needles) {
    if (Lower(s.message()).find(Lower(n)) == std::string::npos) {
      return ::testing::AssertionFailure()
             << "message \"" << s.message() << "\" does not name \"" << n << "\"";
    }
  }
  return ::testing::AssertionSuccess() << s.message();
}

constexpr std::int64_t kShape[2] = {2, 3};

TEST(Status, NegativeOrNaNTemperature) {
  std::vector<float> x(6, 1.0f), y(6);
  const smx::TensorView<const float> xv(x.data(), kShape);
  const smx::TensorView<float> yv(y.data(), kShape);
  EXPECT_TRUE(IsInvalid(smx::softmax(xv, yv, {.temperature = -1.0}), {"temperature", "-1"}));
  EXPECT_TRUE(IsInvalid(smx::log_softmax(xv, yv, {.temperature = -1.0}), {"temperature", "-1"}));
  EXPECT_TRUE(IsInvalid(smx::softmax(xv, yv, {.temperature = -0.25}), {"-0.25"}));
  EXPECT_TRUE(IsInvalid(smx::softmax(xv, yv, {.temperature = -kInf}), {"inf"}));
  EXPECT_TRUE(IsInvalid(smx::softmax(xv, yv, {.temperature = kNaN}), {"nan"}));
  EXPECT_TRUE(IsInvalid(smx::log_softmax(xv, yv, {.temperature = kNaN}), {"nan"}));
  // A tiny negative is still negative.
  EXPECT_TRUE(IsInvalid(smx::softmax(xv, yv, {.temperature = -1e-300}), {"temperature"}));
  // -0.0 equals 0: the hardmax limit, not an error.
  EXPECT_TRUE(smx::softmax(xv, yv, {.temperature = -0.0}).ok());
}

TEST(Status, AxisOutOfRange) {
  std::vector<double> x(6, 1.0), y(6), out(3);
  const smx::TensorView<const double> xv(x.data(), kShape);
  const smx::TensorView<double> yv(y.data(), kShape);
  EXPECT_TRUE(IsInvalid(smx::softmax(xv, yv, {.axis = 7}), {"axis", "7"}));
  EXPECT_TRUE(IsInvalid(smx::softmax(xv, yv, {.axis = 2}), {"axis", "2"}));
  EXPECT_TRUE(IsInvalid(smx::log_softmax(xv, yv, {.axis = -9}), {"axis", "-9"}));
  EXPECT_TRUE(IsInvalid(smx::softmax(xv, yv, {.axis = -3}), {"axis", "-3"}));
  const std::int64_t s2[1] = {2};
  EXPECT_TRUE(IsInvalid(smx::logsumexp(xv, smx::TensorView<double>(out.data(), s2), {.axis = 5}),
                        {"axis", "5"}));
  // The valid negative axes.
  EXPECT_TRUE(smx::softmax(xv, yv, {.axis = -2}).ok());
  EXPECT_TRUE(smx::softmax(xv, yv, {.axis = -1}).ok());
  EXPECT_TRUE(smx::softmax(xv, yv, {.axis = 0}).ok());
}

TEST(Status, ShapeMismatch) {
  std::vector<float> x(6, 1.0f), y(10);
  const smx::TensorView<const float> xv(x.data(), kShape);
  const std::int64_t wrong[2] = {2, 5};
  EXPECT_TRUE(IsInvalid(smx::softmax(xv, smx::TensorView<float>(y.data(), wrong)), {"5"}));
  EXPECT_TRUE(IsInvalid(smx::log_softmax(xv, smx::TensorView<float>(y.data(), wrong)), {"5"}));
  const std::int64_t transposed[2] = {3, 2};  // same size, other shape
  EXPECT_TRUE(IsInvalid(smx::softmax(xv, smx::TensorView<float>(y.data(), transposed)), {}));
  const std::int64_t flat[1] = {6};  // same size, other rank
  EXPECT_TRUE(IsInvalid(smx::softmax(xv, smx::TensorView<float>(y.data(), flat)), {}));
  // The span overload with different lengths.
  EXPECT_TRUE(IsInvalid(
      smx::softmax(std::span<const float>(x.data(), 6), std::span<float>(y.data(), 7)), {"7"}));
}

TEST(Status, RankAboveEight) {
  const std::int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 2};
  std::vector<float> x(2, 0.0f), y(2);
  const smx::Status s = smx::softmax(smx::TensorView<const float>(x.data(), shape),
                                     smx::TensorView<float>(y.data(), shape));
  // Layout records rank -1 for rank > 8, so the message can name the limit, not the rank.
  EXPECT_TRUE(IsInvalid(s, {"8"}));
  const std::int64_t shape8[8] = {1, 1, 1, 1, 1, 1, 1, 2};
  EXPECT_TRUE(smx::softmax(smx::TensorView<const float>(x.data(), shape8),
                           smx::TensorView<float>(y.data(), shape8))
                  .ok())
      << "rank 8 is allowed";
  const std::int64_t out9[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  float lse = 0;
  EXPECT_TRUE(IsInvalid(smx::logsumexp(smx::TensorView<const float>(x.data(), shape),
                                       smx::TensorView<float>(&lse, out9)),
                        {"8"}));
}

TEST(Status, NegativeSize) {
  const std::int64_t shape[2] = {2, -3};
  std::vector<float> x(6), y(6);
  EXPECT_TRUE(IsInvalid(smx::softmax(smx::TensorView<const float>(x.data(), shape),
                                     smx::TensorView<float>(y.data(), shape)),
                        {}));
}

TEST(Status, NullDataWithElements) {
  std::vector<float> x(6, 1.0f), y(6);
  const smx::TensorView<const float> xv(x.data(), kShape);
  const smx::TensorView<float> yv(y.data(), kShape);
  EXPECT_TRUE(IsInvalid(smx::softmax(smx::TensorView<const float>(nullptr, kShape), yv), {"null"}));
  EXPECT_TRUE(IsInvalid(smx::softmax(xv, smx::TensorView<float>(nullptr, kShape)), {"null"}));
  const std::int64_t s2[1] = {2};
  EXPECT_TRUE(IsInvalid(smx::logsumexp(xv, smx::TensorView<float>(nullptr, s2)), {"null"}));
  EXPECT_TRUE(IsInvalid(RunRows<float>(Op::kLogSoftmax, nullptr, y.data(), 2, 3), {"null"}));
}

TEST(Status, DTypeMismatch) {
  std::vector<float> x(6, 1.0f);
  std::vector<double> y(6);
  const smx::ConstTensorRef xr(x.data(), smx::DType::kF32, smx::Layout::Contiguous(kShape));
  const smx::TensorRef yr{y.data(), smx::DType::kF64, smx::Layout::Contiguous(kShape)};
  EXPECT_TRUE(IsInvalid(smx::softmax(xr, yr), {"f32", "f64"}));
  EXPECT_TRUE(IsInvalid(smx::log_softmax(xr, yr), {"f32", "f64"}));
  const std::int64_t s2[1] = {2};
  const smx::TensorRef outr{y.data(), smx::DType::kBF16, smx::Layout::Contiguous(s2)};
  EXPECT_TRUE(IsInvalid(smx::logsumexp(xr, outr), {"f32", "bf16"}));
  // The same refs with matching dtypes work.
  const smx::TensorRef ok{y.data(), smx::DType::kF64, smx::Layout::Contiguous(kShape)};
  const smx::ConstTensorRef x64(y.data(), smx::DType::kF64, smx::Layout::Contiguous(kShape));
  EXPECT_TRUE(smx::softmax(x64, ok).ok());
}

TEST(Status, LogSumExpOutputShape) {
  std::vector<double> x(6, 1.0), out(6);
  const smx::TensorView<const double> xv(x.data(), kShape);  // [2, 3]
  const std::int64_t three[1] = {3}, one_two[2] = {1, 2}, two_two[2] = {2, 2};
  EXPECT_TRUE(IsInvalid(smx::logsumexp(xv, smx::TensorView<double>(out.data(), three)), {"3"}));
  EXPECT_TRUE(IsInvalid(smx::logsumexp(xv, smx::TensorView<double>(out.data(), one_two)), {}))
      << "[1, 2] is neither [2] nor the keepdim [2, 1]";
  EXPECT_TRUE(IsInvalid(smx::logsumexp(xv, smx::TensorView<double>(out.data(), two_two)), {}));
  EXPECT_TRUE(IsInvalid(smx::logsumexp(xv, smx::TensorView<double>(out.data(), kShape)), {}))
      << "the input's own shape is not a logsumexp output";
  // Accepted: without the axis, or with the axis of size 1.
  const std::int64_t two[1] = {2}, two_one[2] = {2, 1}, one_three[2] = {1, 3};
  EXPECT_TRUE(smx::logsumexp(xv, smx::TensorView<double>(out.data(), two)).ok());
  EXPECT_TRUE(smx::logsumexp(xv, smx::TensorView<double>(out.data(), two_one)).ok());
  EXPECT_TRUE(smx::logsumexp(xv, smx::TensorView<double>(out.data(), one_three), {.axis = 0}).ok());
  EXPECT_TRUE(
      IsInvalid(smx::logsumexp(xv, smx::TensorView<double>(out.data(), two), {.axis = 0}), {}))
      << "axis 0 of [2, 3] leaves [3]";
}

TEST(Status, ErrorsAreNotSilentForF16AndBF16) {
  std::vector<smx::float16> x(6), y(6);
  const smx::TensorView<const smx::float16> xv(x.data(), kShape);
  const smx::TensorView<smx::float16> yv(y.data(), kShape);
  EXPECT_TRUE(IsInvalid(smx::softmax(xv, yv, {.temperature = -2.0}), {"-2"}));
  std::vector<smx::bfloat16> xb(6), yb(6);
  EXPECT_TRUE(
      IsInvalid(smx::log_softmax(smx::TensorView<const smx::bfloat16>(xb.data(), kShape),
                                 smx::TensorView<smx::bfloat16>(yb.data(), kShape), {.axis = 4}),
                {"4"}));
}

}  // namespace
}  // namespace smx_test
