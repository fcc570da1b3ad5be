/* The C API (smx/smx.h), compiled as C: known values of every operation, the descriptor paths
 * (any axis, strides, keepdim, f16/bf16), the temperature limits, and every error path, which must
 * return its status with a message naming the bad value. Prints each failure; exits 1 if any. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "smx/smx.h"

static int g_failures = 0;
static int g_checks = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    ++g_checks;                                                                \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++g_failures;                                                            \
    }                                                                          \
  } while (0)

/* |got - want| <= rel * |want| (rel = 0: exact, and inf == inf). */
#define CHECK_NEAR(got, want, rel)                                                           \
  do {                                                                                       \
    const double got_ = (got), want_ = (want);                                               \
    ++g_checks;                                                                              \
    if (!(got_ == want_ || fabs(got_ - want_) <= (rel)*fabs(want_))) {                       \
      fprintf(stderr, "%s:%d: %s = %.17g, expected %.17g\n", __FILE__, __LINE__, #got, got_, \
              want_);                                                                        \
      ++g_failures;                                                                          \
    }                                                                                        \
  } while (0)

/* The call returned `code` and the message contains `needle`. */
#define CHECK_ERROR(call, code, needle)                                                         \
  do {                                                                                          \
    const smx_status s_ = (call);                                                               \
    const char* m_ = smx_last_error_message();                                                  \
    ++g_checks;                                                                                 \
    if (s_ != (code) || m_ == NULL || m_[0] == '\0' || strstr(m_, (needle)) == NULL) {          \
      fprintf(stderr, "%s:%d: %s returned %s with message \"%s\"; expected %s naming \"%s\"\n", \
              __FILE__, __LINE__, #call, smx_status_string(s_), m_ ? m_ : "(null)",             \
              smx_status_string(code), (needle));                                               \
      ++g_failures;                                                                             \
    }                                                                                           \
  } while (0)

/* Reference logsumexp of z / t in double: n values, `stride` apart. */
static double RefLse(const double* z, int n, int stride, double t) {
  double m = -INFINITY, sum = 0;
  for (int i = 0; i < n; ++i) m = fmax(m, z[i * stride] / t);
  for (int i = 0; i < n; ++i) sum += exp(z[i * stride] / t - m);
  return m + log(sum);
}

static const double kF32 = 1e-6;  /* about 8 ULP of f32 */
static const double kF64 = 1e-14; /* about 45 ULP of f64: the reference is plain libm */

static void TestBlocksF32(void) {
  const float x[6] = {2.0f, 1.0f, 0.5f, -1.0f, 0.0f, 1.0f};
  const double xd[6] = {2, 1, 0.5, -1, 0, 1};
  float y[6], lse[2];
  CHECK(smx_softmax_f32(x, y, 2, 3, 1.0) == SMX_OK);
  CHECK_NEAR(y[0], 0.6285317192117624, kF32);
  CHECK_NEAR(y[1], 0.23122389762214907, kF32);
  CHECK_NEAR(y[2], 0.14024438316608848, kF32);
  CHECK_NEAR(y[3], 0.09003057317038046, kF32);
  CHECK_NEAR(y[4], 0.24472847105479767, kF32);
  CHECK_NEAR(y[5], 0.6652409557748219, kF32);

  CHECK(smx_log_softmax_f32(x, y, 2, 3, 1.0) == SMX_OK);
  for (int r = 0; r < 2; ++r) {
    const double l = RefLse(xd + 3 * r, 3, 1, 1.0);
    for (int c = 0; c < 3; ++c) CHECK_NEAR(y[3 * r + c], xd[3 * r + c] - l, kF32);
  }
  CHECK(smx_logsumexp_f32(x, lse, 2, 3) == SMX_OK);
  CHECK_NEAR(lse[0], RefLse(xd, 3, 1, 1.0), kF32);
  CHECK_NEAR(lse[1], RefLse(xd + 3, 3, 1, 1.0), kF32);

  /* Temperature 0.5 divides the logits: softmax(2z). */
  CHECK(smx_softmax_f32(x, y, 1, 3, 0.5) == SMX_OK);
  CHECK_NEAR(y[0], exp(4 - RefLse(xd, 3, 1, 0.5)), kF32);
  CHECK_NEAR(y[2], exp(1 - RefLse(xd, 3, 1, 0.5)), kF32);

  /* In place. */
  float z[3] = {2.0f, 1.0f, 0.5f};
  CHECK(smx_softmax_f32(z, z, 1, 3, 1.0) == SMX_OK);
  CHECK_NEAR(z[0], 0.6285317192117624, kF32);

  /* No rows, or empty rows: nothing written; logsumexp of an empty row is -inf. */
  float empty_lse[2] = {0, 0};
  CHECK(smx_softmax_f32(NULL, NULL, 0, 3, 1.0) == SMX_OK);
  CHECK(smx_logsumexp_f32(NULL, empty_lse, 2, 0) == SMX_OK);
  CHECK(empty_lse[0] == -INFINITY && empty_lse[1] == -INFINITY);
}

static void TestBlocksF64(void) {
  const double x[4] = {1000.0, 1000.0 + log(3.0), -3.5, 0.25};
  const double d = x[1] - x[0]; /* exact (Sterbenz), about log(3) */
  double y[4], lse[2];
  CHECK(smx_softmax_f64(x, y, 2, 2, 1.0) == SMX_OK);
  CHECK_NEAR(y[0], 1 / (1 + exp(d)), kF64);
  CHECK_NEAR(y[1], 1 / (1 + exp(-d)), kF64);
  CHECK_NEAR(y[2], 1 / (1 + exp(3.75)), kF64);
  CHECK_NEAR(y[3], 1 / (1 + exp(-3.75)), kF64);
  CHECK(smx_log_softmax_f64(x, y, 2, 2, 1.0) == SMX_OK);
  CHECK_NEAR(y[0], -log1p(exp(d)), kF64);
  CHECK_NEAR(y[1], -log1p(exp(-d)), kF64);
  CHECK_NEAR(y[3], 0.25 - RefLse(x + 2, 2, 1, 1.0), kF64);
  CHECK(smx_logsumexp_f64(x, lse, 2, 2) == SMX_OK);
  CHECK_NEAR(lse[0], x[0] + log1p(exp(d)), kF64);
  CHECK_NEAR(lse[1], RefLse(x + 2, 2, 1, 1.0), kF64);
}

static void TestTemperatureLimits(void) {
  const float x[3] = {3.0f, 3.0f, 1.0f};
  float y[3];
  CHECK(smx_softmax_f32(x, y, 1, 3, 0.0) == SMX_OK); /* hardmax, ties share */
  CHECK(y[0] == 0.5f && y[1] == 0.5f && y[2] == 0.0f);
  CHECK(smx_log_softmax_f32(x, y, 1, 3, 0.0) == SMX_OK);
  CHECK_NEAR(y[0], -log(2.0), kF32);
  CHECK_NEAR(y[1], -log(2.0), kF32);
  CHECK(y[2] == -INFINITY);
  CHECK(smx_softmax_f32(x, y, 1, 3, INFINITY) == SMX_OK); /* uniform */
  for (int i = 0; i < 3; ++i) CHECK_NEAR(y[i], 1.0 / 3, kF32);
  double yd[3];
  const double xd[3] = {3, 3, 1};
  CHECK(smx_log_softmax_f64(xd, yd, 1, 3, INFINITY) == SMX_OK);
  for (int i = 0; i < 3; ++i) CHECK_NEAR(yd[i], -log(3.0), kF64);
}

/* The descriptor API: a middle axis, negative axes, strides, keepdim, 16-bit types. */
static void TestDescriptors(void) {
  /* [2, 3, 2] f64 over axis 1 (and -2: the same axis). */
  double x[12], y[12], y2[12];
  for (int i = 0; i < 12; ++i) x[i] = 0.5 * (i % 5) - 1;
  const int64_t shape[3] = {2, 3, 2};
  smx_tensor tx = {x, SMX_F64, 3, shape, NULL};
  smx_tensor ty = {y, SMX_F64, 3, shape, NULL};
  smx_tensor ty2 = {y2, SMX_F64, 3, shape, NULL};
  CHECK(smx_softmax(&tx, &ty, 1, 1.0) == SMX_OK);
  CHECK(smx_softmax(&tx, &ty2, -2, 1.0) == SMX_OK);
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < 2; ++k) {
      const double l = RefLse(x + 6 * i + k, 3, 2, 1.0);
      for (int j = 0; j < 3; ++j) {
        const int at = 6 * i + 2 * j + k;
        CHECK_NEAR(y[at], exp(x[at] - l), kF64);
        CHECK(y2[at] == y[at]);
      }
    }
  }
  CHECK(smx_log_softmax(&tx, &ty, 1, 2.0) == SMX_OK);
  for (int j = 0; j < 3; ++j)
    CHECK_NEAR(y[2 * j + 1], x[2 * j + 1] / 2 - RefLse(x + 1, 3, 2, 2.0), kF64);

  /* logsumexp over axis 1: out [2, 2] (axis dropped) or [2, 1, 2] (keepdim), same values. */
  double lse[4], lse_keep[4];
  const int64_t dropped[2] = {2, 2};
  const int64_t kept[3] = {2, 1, 2};
  smx_tensor t_lse = {lse, SMX_F64, 2, dropped, NULL};
  smx_tensor t_keep = {lse_keep, SMX_F64, 3, kept, NULL};
  CHECK(smx_logsumexp(&tx, &t_lse, 1) == SMX_OK);
  CHECK(smx_logsumexp(&tx, &t_keep, 1) == SMX_OK);
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < 2; ++k) {
      CHECK_NEAR(lse[2 * i + k], RefLse(x + 6 * i + k, 3, 2, 1.0), kF64);
      CHECK(lse_keep[2 * i + k] == lse[2 * i + k]);
    }
  }

  /* A strided f32 view: the transpose of a row-major [4, 3] buffer, viewed as [3, 4] with strides
   * {1, 3}; softmax along its last axis (a column of the buffer), into a contiguous output. */
  float buf[12], out[12];
  for (int i = 0; i < 12; ++i) buf[i] = (float)(i * i % 7) - 2.5f;
  const int64_t tshape[2] = {3, 4};
  const int64_t tstrides[2] = {1, 3};
  smx_tensor tb = {buf, SMX_F32, 2, tshape, tstrides};
  smx_tensor to = {out, SMX_F32, 2, tshape, NULL};
  CHECK(smx_softmax(&tb, &to, -1, 1.0) == SMX_OK);
  for (int r = 0; r < 3; ++r) {
    double col[4];
    for (int c = 0; c < 4; ++c) col[c] = buf[r + 3 * c];
    const double l = RefLse(col, 4, 1, 1.0);
    for (int c = 0; c < 4; ++c) CHECK_NEAR(out[4 * r + c], exp(col[c] - l), kF32);
  }
  /* A strided output: write the softmax back into the transposed view. */
  float back[12];
  smx_tensor tback = {back, SMX_F32, 2, tshape, tstrides};
  CHECK(smx_softmax(&tb, &tback, 1, 1.0) == SMX_OK);
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 4; ++c) CHECK(back[r + 3 * c] == out[4 * r + c]);
  }

  /* Rank 0 (a scalar, shape NULL): softmax 1, logsumexp the value. */
  double s = 42, sy = 0;
  smx_tensor ts = {&s, SMX_F64, 0, NULL, NULL};
  smx_tensor tsy = {&sy, SMX_F64, 0, NULL, NULL};
  const int64_t one[1] = {1};
  smx_tensor tv = {&s, SMX_F64, 1, one, NULL};
  CHECK(smx_logsumexp(&tv, &tsy, 0) == SMX_OK);
  CHECK(sy == 42);
  CHECK_ERROR(smx_softmax(&ts, &tsy, 0, 1.0), SMX_INVALID_ARGUMENT, "rank 0");

  /* bf16 and f16 bits: softmax of {0, 0} is {0.5, 0.5}. */
  uint16_t h[2] = {0, 0}, hy[2] = {0, 0};
  const int64_t two[1] = {2};
  smx_tensor th = {h, SMX_BF16, 1, two, NULL};
  smx_tensor thy = {hy, SMX_BF16, 1, two, NULL};
  CHECK(smx_softmax(&th, &thy, 0, 1.0) == SMX_OK);
  CHECK(hy[0] == 0x3F00 && hy[1] == 0x3F00); /* bf16 0.5 */
  th.dtype = SMX_F16;
  thy.dtype = SMX_F16;
  CHECK(smx_softmax(&th, &thy, 0, 1.0) == SMX_OK);
  CHECK(hy[0] == 0x3800 && hy[1] == 0x3800); /* f16 0.5 */
}

static void TestErrors(void) {
  float x[6] = {1, 2, 3, 4, 5, 6}, y[6];
  double xd[6] = {1, 2, 3, 4, 5, 6}, yd[6];
  const int64_t shape[2] = {2, 3};
  const int64_t other[2] = {3, 2};
  const int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  smx_tensor tx = {x, SMX_F32, 2, shape, NULL};
  smx_tensor ty = {y, SMX_F32, 2, shape, NULL};

  /* NULL descriptors and data. */
  CHECK_ERROR(smx_softmax(NULL, &ty, -1, 1.0), SMX_INVALID_ARGUMENT, "x is NULL");
  CHECK_ERROR(smx_log_softmax(&tx, NULL, -1, 1.0), SMX_INVALID_ARGUMENT, "y is NULL");
  CHECK_ERROR(smx_logsumexp(&tx, NULL, -1), SMX_INVALID_ARGUMENT, "out is NULL");
  smx_tensor null_data = {NULL, SMX_F32, 2, shape, NULL};
  CHECK_ERROR(smx_softmax(&null_data, &ty, -1, 1.0), SMX_INVALID_ARGUMENT, "null but has 6");
  CHECK_ERROR(smx_softmax(&tx, &null_data, -1, 1.0), SMX_INVALID_ARGUMENT, "null but has 6");
  CHECK_ERROR(smx_softmax_f32(NULL, y, 2, 3, 1.0), SMX_INVALID_ARGUMENT, "null but has 6");
  CHECK_ERROR(smx_logsumexp_f64(NULL, NULL, 1, 1), SMX_INVALID_ARGUMENT, "null");
  smx_tensor null_shape = {x, SMX_F32, 2, NULL, NULL};
  CHECK_ERROR(smx_softmax(&null_shape, &ty, -1, 1.0), SMX_INVALID_ARGUMENT, "NULL shape");

  /* dtype, rank, shape, axis, temperature. */
  smx_tensor bad_dtype = {x, 7, 2, shape, NULL};
  CHECK_ERROR(smx_softmax(&bad_dtype, &ty, -1, 1.0), SMX_INVALID_ARGUMENT, "dtype 7");
  bad_dtype.dtype = -1;
  CHECK_ERROR(smx_logsumexp(&tx, &bad_dtype, -1), SMX_INVALID_ARGUMENT, "dtype -1");
  smx_tensor f64 = {y, SMX_F64, 2, shape, NULL};
  CHECK_ERROR(smx_softmax(&tx, &f64, -1, 1.0), SMX_INVALID_ARGUMENT, "output is f64");
  smx_tensor rank9 = {x, SMX_F32, 9, nine, NULL};
  CHECK_ERROR(smx_softmax(&rank9, &rank9, -1, 1.0), SMX_INVALID_ARGUMENT, "rank 9");
  rank9.rank = -2;
  CHECK_ERROR(smx_softmax(&rank9, &ty, -1, 1.0), SMX_INVALID_ARGUMENT, "rank -2");
  const int64_t negative[2] = {2, -3};
  smx_tensor neg = {x, SMX_F32, 2, negative, NULL};
  CHECK_ERROR(smx_softmax(&neg, &neg, -1, 1.0), SMX_INVALID_ARGUMENT, "-3");
  smx_tensor mismatch = {y, SMX_F32, 2, other, NULL};
  CHECK_ERROR(smx_softmax(&tx, &mismatch, -1, 1.0), SMX_INVALID_ARGUMENT, "[3, 2]");
  CHECK_ERROR(smx_logsumexp(&tx, &mismatch, -1), SMX_INVALID_ARGUMENT, "[3, 2]");
  CHECK_ERROR(smx_softmax(&tx, &ty, 2, 1.0), SMX_INVALID_ARGUMENT, "axis 2");
  CHECK_ERROR(smx_log_softmax(&tx, &ty, -3, 1.0), SMX_INVALID_ARGUMENT, "axis -3");
  CHECK_ERROR(smx_logsumexp(&tx, &ty, 5), SMX_INVALID_ARGUMENT, "axis 5");
  CHECK_ERROR(smx_softmax(&tx, &ty, -1, -1.0), SMX_INVALID_ARGUMENT, "-1");
  CHECK_ERROR(smx_log_softmax(&tx, &ty, -1, NAN), SMX_INVALID_ARGUMENT, "nan");
  CHECK_ERROR(smx_softmax_f32(x, y, 2, 3, -0.5), SMX_INVALID_ARGUMENT, "-0.5");
  CHECK_ERROR(smx_log_softmax_f64(xd, yd, 1, 3, -2.0), SMX_INVALID_ARGUMENT, "-2");
  CHECK_ERROR(smx_softmax_f32(x, y, SIZE_MAX, 2, 1.0), SMX_INVALID_ARGUMENT, "int64_t");
  CHECK_ERROR(smx_softmax_f64(xd, yd, (size_t)1 << 40, (size_t)1 << 40, 1.0), SMX_INVALID_ARGUMENT,
              "int64_t");

  /* The message is per call: a later failure replaces it; a success leaves it (as errno). */
  CHECK_ERROR(smx_softmax(&tx, &ty, 7, 1.0), SMX_INVALID_ARGUMENT, "axis 7");
  CHECK(smx_softmax(&tx, &ty, -1, 1.0) == SMX_OK);
  CHECK(strstr(smx_last_error_message(), "axis 7") != NULL);
  /* A failed call wrote nothing. */
  float untouched[6] = {9, 9, 9, 9, 9, 9};
  CHECK(smx_softmax_f32(x, untouched, 2, 3, -1.0) == SMX_INVALID_ARGUMENT);
  for (int i = 0; i < 6; ++i) CHECK(untouched[i] == 9);
}

static void TestSigmoid(void) {
  const double x[5] = {-100, -1, 0, 2, 40};
  double y[5];
  float xf[5], yf[5];
  for (int i = 0; i < 5; ++i) xf[i] = (float)x[i];
  CHECK(smx_sigmoid_f64(x, y, 5) == SMX_OK);
  for (int i = 0; i < 5; ++i) CHECK_NEAR(y[i], 1 / (1 + exp(-x[i])), kF64);
  CHECK(smx_log_sigmoid_f64(x, y, 5) == SMX_OK);
  CHECK(y[0] == -100.0); /* not -inf */
  CHECK_NEAR(y[1], -log1p(exp(1.0)), kF64);
  CHECK(y[4] < 0 && y[4] > -1e-17); /* -exp(-40), not 0 */
  CHECK(smx_softplus_f32(xf, yf, 5) == SMX_OK);
  CHECK_NEAR(yf[3], log1p(exp(2.0)), kF32);
  CHECK(smx_sigmoid_f32(xf, xf, 5) == SMX_OK); /* in place */
  CHECK_NEAR(xf[2], 0.5, kF32);
  /* A strided descriptor: every other element of x. */
  const int64_t shape[1] = {3}, strides[1] = {2};
  double out[3];
  smx_tensor xt = {(void*)x, SMX_F64, 1, shape, strides};
  smx_tensor yt = {out, SMX_F64, 1, shape, NULL};
  CHECK(smx_log_sigmoid(&xt, &yt) == SMX_OK);
  CHECK(out[0] == -100.0);
  CHECK_NEAR(out[2], -log1p(exp(-40.0)), kF64);
  CHECK(smx_softplus(&xt, &yt) == SMX_OK);
  CHECK_NEAR(out[1], log1p(exp(0.0)), kF64);
  smx_tensor bad = {out, SMX_F32, 1, shape, NULL};
  CHECK_ERROR(smx_sigmoid(&xt, &bad), SMX_INVALID_ARGUMENT, "input is f64 but output is f32");
  CHECK_ERROR(smx_sigmoid_f32(NULL, yf, 5), SMX_INVALID_ARGUMENT, "null");
}

static void TestCalculus(void) {
  /* One row: y = softmax(z), then the backward pass and the Jacobian against the formulas. */
  const double z[3] = {2, 1, 0.5}, g[3] = {1, -2, 0.5};
  double y[3], dz[3], jac[9], out[3];
  CHECK(smx_softmax_f64(z, y, 1, 3, 1.0) == SMX_OK);
  const int64_t shape[1] = {3}, jshape[2] = {3, 3};
  smx_tensor zt = {(void*)z, SMX_F64, 1, shape, NULL}, yt = {y, SMX_F64, 1, shape, NULL};
  smx_tensor gt = {(void*)g, SMX_F64, 1, shape, NULL}, dzt = {dz, SMX_F64, 1, shape, NULL};
  smx_tensor jt = {jac, SMX_F64, 2, jshape, NULL}, ot = {out, SMX_F64, 1, shape, NULL};
  CHECK(smx_softmax_backward(&gt, &yt, &dzt, -1, 1.0) == SMX_OK);
  const double s = g[0] * y[0] + g[1] * y[1] + g[2] * y[2];
  for (int i = 0; i < 3; ++i) CHECK_NEAR(dz[i], y[i] * (g[i] - s), kF64);
  CHECK(smx_softmax_jvp(&yt, &gt, &dzt, -1, 2.0) == SMX_OK);
  for (int i = 0; i < 3; ++i) CHECK_NEAR(dz[i], y[i] * (g[i] - s) / 2, kF64);
  CHECK(smx_softmax_jacobian(&zt, &jt, -1, 1.0) == SMX_OK);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) CHECK_NEAR(jac[i * 3 + j], (i == j ? y[i] : 0) - y[i] * y[j], kF64);
  }
  CHECK(smx_log_softmax_f64(z, out, 1, 3, 1.0) == SMX_OK);
  CHECK(smx_log_softmax_backward(&gt, &ot, &dzt, -1, 1.0) == SMX_OK);
  for (int i = 0; i < 3; ++i) CHECK_NEAR(dz[i], g[i] - y[i] * (g[0] + g[1] + g[2]), kF64);
  const double conf[3] = {5, 0, -5};
  double h = 0;
  smx_tensor ct = {(void*)conf, SMX_F64, 1, shape, NULL}, ht = {&h, SMX_F64, 0, NULL, NULL};
  CHECK(smx_entropy(&ct, &ht, -1, 1.0) == SMX_OK);
  CHECK_NEAR(h, 0.04067412954243125, kF64);
  CHECK_ERROR(smx_softmax_backward(&gt, &yt, &dzt, -1, 0.0), SMX_INVALID_ARGUMENT,
              "temperature must be finite and > 0");
  CHECK_ERROR(smx_softmax_jacobian(&zt, &yt, -1, 1.0), SMX_INVALID_ARGUMENT,
              "the jacobian must be f64 [3, 3]");
}

static void TestWeightedLogSumExp(void) {
  /* SciPy's example: logsumexp([1, 2], b=[1, -1], return_sign=True) = (log(e^2 - e), -1). */
  const double x[2] = {1, 2}, b[2] = {1, -1};
  double out = 0, sign = 0;
  const int64_t two[1] = {2};
  smx_tensor xt = {(void*)x, SMX_F64, 1, two, NULL}, bt = {(void*)b, SMX_F64, 1, two, NULL};
  smx_tensor ot = {&out, SMX_F64, 0, NULL, NULL}, st = {&sign, SMX_F64, 0, NULL, NULL};
  CHECK(smx_logsumexp_weighted(&xt, &bt, &ot, &st, -1) == SMX_OK);
  CHECK_NEAR(out, log(exp(2.0) - exp(1.0)), 1e-15);
  CHECK(sign == -1);
  CHECK(smx_logsumexp_weighted(&xt, &bt, &ot, NULL, -1) == SMX_OK);
  CHECK(isnan(out)); /* a negative sum without its sign */

  /* A [2, 3] f32 tensor along axis 0 with b broadcast over the columns (stride 0 in axis 1), out
   * [1, 3] (keepdim): column j is log(w0 e^x0j + w1 e^x1j). A zero weight drops its entry. */
  const float xf[6] = {0, 1, 2, 3, 4, 5};
  const float wf[2] = {0.25f, 0};
  float o3[3], s3[3];
  const int64_t shape[2] = {2, 3}, kept[2] = {1, 3}, bstrides[2] = {1, 0};
  smx_tensor xft = {(void*)xf, SMX_F32, 2, shape, NULL};
  smx_tensor wft = {(void*)wf, SMX_F32, 2, shape, bstrides};
  smx_tensor o3t = {o3, SMX_F32, 2, kept, NULL}, s3t = {s3, SMX_F32, 2, kept, NULL};
  CHECK(smx_logsumexp_weighted(&xft, &wft, &o3t, &s3t, 0) == SMX_OK);
  for (int j = 0; j < 3; ++j) {
    CHECK_NEAR(o3[j], xf[j] + log(0.25), kF32);
    CHECK(s3[j] == 1);
  }
  /* Equal entries with opposite weights cancel exactly: -inf, sign 0. */
  const double xc[2] = {0.5, 0.5}, bc[2] = {3, -3};
  smx_tensor xct = {(void*)xc, SMX_F64, 1, two, NULL}, bct = {(void*)bc, SMX_F64, 1, two, NULL};
  CHECK(smx_logsumexp_weighted(&xct, &bct, &ot, &st, 0) == SMX_OK);
  CHECK(out == -INFINITY && sign == 0);

  /* Errors: b's shape and dtype, sign's shape, NULL b. */
  const int64_t three[1] = {3};
  smx_tensor b3 = {(void*)wf, SMX_F64, 1, three, NULL};
  CHECK_ERROR(smx_logsumexp_weighted(&xt, &b3, &ot, NULL, 0), SMX_INVALID_ARGUMENT,
              "b has shape [3] but x has shape [2]");
  smx_tensor bf = {(void*)wf, SMX_F32, 1, two, NULL};
  CHECK_ERROR(smx_logsumexp_weighted(&xt, &bf, &ot, NULL, 0), SMX_INVALID_ARGUMENT,
              "x is f64 but b is f32");
  smx_tensor s2 = {s3, SMX_F64, 1, two, NULL};
  CHECK_ERROR(smx_logsumexp_weighted(&xt, &bt, &ot, &s2, 0), SMX_INVALID_ARGUMENT,
              "sign must have out's dtype and shape (f64 [])");
  CHECK_ERROR(smx_logsumexp_weighted(&xt, NULL, &ot, NULL, 0), SMX_INVALID_ARGUMENT, "b is NULL");
}

static void TestLosses(void) {
  /* logits [[2, 1, 0], [0, 0, 0]], targets {0, 2}, mean: (log(e^2 + e + 1) - 2 + log 3) / 2. */
  double z[6] = {2, 1, 0, 0, 0, 0}, grad[6], loss = 0;
  const int64_t shape[2] = {2, 3}, target[2] = {0, 2}, bad[2] = {0, 3};
  smx_tensor zt = {z, SMX_F64, 2, shape, NULL}, gt = {grad, SMX_F64, 2, shape, NULL};
  smx_tensor lt = {&loss, SMX_F64, 0, NULL, NULL};
  CHECK(smx_cross_entropy(&zt, target, 2, &lt, &gt, NULL) == SMX_OK);
  CHECK_NEAR(loss, 0.75310912655624, kF64);
  CHECK_NEAR(grad[0], (0.66524095577482 - 1) / 2, kF64);
  CHECK_NEAR(grad[5], (1.0 / 3 - 1) / 2, kF64);
  smx_cross_entropy_options o = smx_cross_entropy_defaults();
  o.reduction = SMX_REDUCTION_SUM;
  CHECK(smx_cross_entropy(&zt, target, 2, &lt, &zt, &o) == SMX_OK); /* in place */
  CHECK_NEAR(loss, 1.50621825311248, kF64);
  CHECK_NEAR(z[0], 0.66524095577482 - 1, kF64);
  CHECK_ERROR(smx_cross_entropy(&zt, bad, 2, &lt, NULL, NULL), SMX_INVALID_ARGUMENT,
              "target[1] = 3 is outside [0, 3)");
  o.reduction = 7;
  CHECK_ERROR(smx_cross_entropy(&zt, target, 2, &lt, NULL, &o), SMX_INVALID_ARGUMENT,
              "reduction 7 is not an smx_reduction");
  /* Probability targets equal to one-hot rows give the index loss; distillation of a student
   * equal to its teacher is exactly 0. */
  double s[6] = {2, 1, 0, 0, 0, 0}, p[6] = {1, 0, 0, 0, 0, 1};
  smx_tensor st = {s, SMX_F64, 2, shape, NULL}, pt = {p, SMX_F64, 2, shape, NULL};
  CHECK(smx_cross_entropy_probs(&st, &pt, &lt, NULL, NULL) == SMX_OK);
  CHECK_NEAR(loss, 0.75310912655624, kF64);
  CHECK(smx_kl_div_distill(&st, &st, &lt, &gt, -1, 2.0) == SMX_OK);
  CHECK(loss == 0 && grad[0] == 0);
  CHECK_ERROR(smx_kl_div_distill(&st, &st, &lt, NULL, -1, -1.0), SMX_INVALID_ARGUMENT,
              "temperature must be finite and > 0");
}

static void TestSampling(void) {
  /* Row 0 is greedy at T = 0 (the lowest index among ties); row 1 keeps only its top token. */
  float z[8] = {1, 3, 3, 0, 5, 1, 2, -INFINITY};
  const int64_t zs[2] = {2, 4};
  smx_tensor zt = {z, SMX_F32, 2, zs, NULL};
  int64_t tokens[2] = {-1, -1};
  double lp[2], raw[2];
  const double temps[2] = {0.0, 1.0};
  smx_sampling_options o = smx_sampling_defaults();
  o.temperatures = temps;
  o.top_k = 1;
  o.seed = 7;
  CHECK(smx_sample(&zt, tokens, lp, raw, 2, &o) == SMX_OK);
  CHECK(tokens[0] == 1 && tokens[1] == 0);
  CHECK(lp[0] == 0 && lp[1] == 0);
  CHECK_NEAR(raw[0], -log(2.0), 1e-15);
  CHECK_NEAR(raw[1], 5 - log(exp(5.0) + exp(1.0) + exp(2.0)), 1e-6);
  /* The filter: top-p 0.5 of row 1 keeps token 0 only (e^5 / sum > 0.5). */
  float probs[8];
  smx_tensor pt = {probs, SMX_F32, 2, zs, NULL};
  o = smx_sampling_defaults();
  o.top_p = 0.5;
  CHECK(smx_top_k_top_p_filter(&zt, &pt, SMX_FILTER_PROBABILITIES, &o) == SMX_OK);
  CHECK(probs[4] == 1.0f && probs[5] == 0 && probs[6] == 0 && probs[7] == 0);
  /* Row 0: the first 3 alone has less than half the mass, so its tie joins it. */
  CHECK(probs[1] == 0.5f && probs[2] == 0.5f && probs[0] == 0 && probs[3] == 0);
  /* Errors name the problem. */
  o = smx_sampling_defaults();
  o.top_p = 0;
  CHECK_ERROR(smx_sample(&zt, tokens, NULL, NULL, 2, &o), SMX_INVALID_ARGUMENT, "top_p");
  CHECK_ERROR(smx_sample(&zt, tokens, NULL, NULL, 3, NULL), SMX_INVALID_ARGUMENT, "num_rows");
  CHECK_ERROR(smx_top_k_top_p_filter(&zt, &pt, 9, NULL), SMX_INVALID_ARGUMENT,
              "not an smx_filter_output");
  /* Gumbel: at T = 0 greedy; the hard sample is one-hot at gumbel_max's token. */
  CHECK(smx_gumbel_max(&zt, tokens, 2, 0.0, 1, 0, NULL) == SMX_OK);
  CHECK(tokens[0] == 1 && tokens[1] == 0);
  const uint64_t ids[2] = {10, 11};
  CHECK(smx_gumbel_max(&zt, tokens, 2, 1.0, 5, 3, ids) == SMX_OK);
  CHECK(smx_gumbel_softmax(&zt, &pt, 1.0, 1, 5, 3, ids) == SMX_OK);
  CHECK(probs[tokens[0]] == 1.0f && probs[4 + tokens[1]] == 1.0f && probs[7] == 0);
  CHECK_ERROR(smx_gumbel_softmax(&zt, &pt, 0.0, 0, 5, 3, NULL), SMX_INVALID_ARGUMENT,
              "finite and > 0");
  z[5] = NAN;
  CHECK_ERROR(smx_sample(&zt, tokens, NULL, NULL, 2, NULL), SMX_INVALID_ARGUMENT,
              "row 1 of the logits holds NaN");
  CHECK_ERROR(smx_gumbel_max(&zt, tokens, 2, 1.0, 0, 0, NULL), SMX_INVALID_ARGUMENT, "row 1");
}

static void TestAttention(void) {
  const double kF64 = 1e-14, e = exp(1.0);
  double q[4] = {1, 0, 0, 1}, k[6] = {1, 0, 0, 1, 1, 1}, v[3] = {1, 2, 3};
  double out[2] = {0}, lse[2] = {0};
  const int64_t qs[2] = {2, 2}, ks[2] = {3, 2}, vs[2] = {3, 1}, os[2] = {2, 1}, ls[1] = {2};
  smx_tensor qt = {q, SMX_F64, 2, qs, NULL}, kt = {k, SMX_F64, 2, ks, NULL};
  smx_tensor vt = {v, SMX_F64, 2, vs, NULL}, ot = {out, SMX_F64, 2, os, NULL};
  smx_tensor lt = {lse, SMX_F64, 1, ls, NULL};
  smx_attention_options o = smx_attention_defaults();
  o.has_scale = 1;
  o.scale = 1.0;
  /* Scores [1, 0, 1] and [0, 1, 1]. */
  CHECK(smx_scaled_dot_product_attention(&qt, &kt, &vt, &ot, &lt, &o) == SMX_OK);
  CHECK_NEAR(out[0], 2.0, kF64);
  CHECK_NEAR(out[1], (1 + 5 * e) / (2 * e + 1), kF64);
  CHECK_NEAR(lse[0], log(2 * e + 1), kF64);
  /* Causal, lower-right: row 0 attends keys 0 and 1. */
  o.is_causal = 1;
  o.causal_alignment = SMX_CAUSAL_LOWER_RIGHT;
  CHECK(smx_scaled_dot_product_attention(&qt, &kt, &vt, &ot, NULL, &o) == SMX_OK);
  CHECK_NEAR(out[0], (e + 2) / (e + 1), kF64);
  /* A boolean mask that leaves row 1 nothing: 0 and -inf. */
  unsigned char mask[6] = {1, 0, 1, 0, 0, 0};
  const int64_t ms[2] = {2, 3};
  smx_tensor mt = {mask, -1, 2, ms, NULL}; /* a bool mask's dtype field is not read */
  o = smx_attention_defaults();
  o.mask_kind = SMX_MASK_BOOL;
  o.mask = &mt;
  CHECK(smx_scaled_dot_product_attention(&qt, &kt, &vt, &ot, &lt, &o) == SMX_OK);
  CHECK(out[1] == 0 && lse[1] == -INFINITY);
  /* The backward pass: with grad_out = 1, dv sums to the number of attending rows. */
  o = smx_attention_defaults();
  double g[2] = {1, 1}, dq[4], dk[6], dv[3];
  smx_tensor gt = {g, SMX_F64, 2, os, NULL}, dqt = {dq, SMX_F64, 2, qs, NULL};
  smx_tensor dkt = {dk, SMX_F64, 2, ks, NULL}, dvt = {dv, SMX_F64, 2, vs, NULL};
  CHECK(smx_scaled_dot_product_attention(&qt, &kt, &vt, &ot, &lt, NULL) == SMX_OK);
  CHECK(smx_scaled_dot_product_attention_backward(&gt, &qt, &kt, &vt, &ot, &lt, &dqt, &dkt, &dvt,
                                                  NULL) == SMX_OK);
  CHECK_NEAR(dv[0] + dv[1] + dv[2], 2.0, kF64);
  o.mask_kind = 7;
  CHECK_ERROR(smx_scaled_dot_product_attention(&qt, &kt, &vt, &ot, NULL, &o),
              SMX_INVALID_ARGUMENT, "mask_kind 7 is not an smx_mask_kind");
  o.mask_kind = SMX_MASK_ADDITIVE;
  CHECK_ERROR(smx_scaled_dot_product_attention(&qt, &kt, &vt, &ot, NULL, &o),
              SMX_INVALID_ARGUMENT, "mask is NULL");
  CHECK_ERROR(smx_scaled_dot_product_attention(&qt, &vt, &vt, &ot, NULL, NULL),
              SMX_INVALID_ARGUMENT, "batch and d must agree");
}

static void TestRuntime(void) {
  CHECK(strcmp(smx_status_string(SMX_OK), "OK") == 0);
  CHECK(strcmp(smx_status_string(SMX_INVALID_ARGUMENT), "INVALID_ARGUMENT") == 0);
  CHECK(strcmp(smx_status_string(SMX_INTERNAL), "INTERNAL") == 0);
  CHECK(strcmp(smx_status_string((smx_status)42), "UNKNOWN") == 0);
  CHECK(strcmp(smx_version(), SMX_EXPECTED_VERSION) == 0);
  CHECK(smx_simd_target() != NULL && smx_simd_target()[0] != '\0');
  const int32_t threads = smx_get_num_threads();
  CHECK(threads >= 1);
  CHECK(smx_set_num_threads(1) == SMX_OK);
  CHECK(smx_get_num_threads() == 1);
  CHECK(smx_set_num_threads(0) == SMX_OK);
  CHECK(smx_get_num_threads() >= 1);
  CHECK(smx_set_num_threads(threads) == SMX_OK);
}

int main(void) {
  TestBlocksF32();
  TestBlocksF64();
  TestTemperatureLimits();
  TestDescriptors();
  TestErrors();
  TestSigmoid();
  TestCalculus();
  TestWeightedLogSumExp();
  TestLosses();
  TestAttention();
  TestSampling();
  TestRuntime();
  printf("capi_test (C%ld): %d checks, %d failures\n", (long)__STDC_VERSION__, g_checks,
         g_failures);
  return g_failures == 0 ? 0 : 1;
}
