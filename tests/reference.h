// A scalar long-double reference for softmax, log_softmax and logsumexp, used only by the tests.
//
// Naive but careful: the row max is subtracted first, the shifted logit (z_i - max)/T is carried as
// a long double plus its rounding residual (exact TwoSum and an fmal remainder), the sum of
// exponentials is a compensated (Neumaier) long-double sum, and the log of the sum is taken as
// log(c) + log1p(rest/c), where c counts the max entries. Relative error: a few long-double ulps
// (2^-64), i.e. below 1/1000 of an f64 ulp, except logsumexp where m + L cancels (see err below).
//
// The special values follow the contract in include/smx/softmax.h, per row and before anything
// else: NaN in the row -> all NaN; +inf (no NaN) -> softmax/log_softmax NaN, logsumexp +inf; only
// -inf -> softmax 0, log_softmax -inf, logsumexp -inf; K = 0 -> logsumexp -inf. Temperature 0 is
// the hardmax limit (1/c on the c max entries), +inf the uniform limit (1/(number of finite
// entries)); -inf entries give softmax 0 and log_softmax -inf.
#ifndef SMX_TESTS_REFERENCE_H_
#define SMX_TESTS_REFERENCE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace smx_test {

enum class Op { kSoftmax, kLogSoftmax, kLogSumExp };
const char* OpName(Op op);
inline constexpr Op kAllOps[] = {Op::kSoftmax, Op::kLogSoftmax, Op::kLogSumExp};

// softmax(z/T) and log_softmax(z/T) of one row of K logits; either output may be null.
void ReferenceSoftmaxRow(const long double* z, std::size_t k, double temperature,
                         long double* softmax_out, long double* log_softmax_out);

// logsumexp of one row (no temperature). If err is not null it receives a bound on the absolute
// error of the returned value: m + L cancels when the max m is close to -L, and long double then
// carries fewer bits than f64 needs. The bound is 2^-61 L + 2^-63 |result| (L = log c +
// log1p(rest/c) >= 0): the compensated sum and expl leave rest within ~3 long-double ulps
// (2^-64) relative, log and log1p add one ulp of their result each (and d log1p(x) <= dx/x *
// log1p(x)), and m + L rounds once; the factor 8 on the L term is margin.
long double ReferenceLogSumExpRow(const long double* z, std::size_t k, long double* err = nullptr);

// `op` along `axis` (negative counts from the end) of a row-major tensor of `shape`. The result
// is row-major with the input's shape (softmax, log_softmax) or the shape without the axis
// (logsumexp). err, if not null, receives the per-element absolute error bound (0 except for
// logsumexp).
std::vector<long double> ReferenceAlongAxis(Op op, std::span<const long double> x,
                                            std::span<const std::int64_t> shape, int axis,
                                            double temperature,
                                            std::vector<long double>* err = nullptr);

// Rows of a row-major [rows, k] block along the last axis.
std::vector<long double> ReferenceRows(Op op, std::span<const long double> x, std::size_t rows,
                                       std::size_t k, double temperature,
                                       std::vector<long double>* err = nullptr);

}  // namespace smx_test

#endif  // SMX_TESTS_REFERENCE_H_
