/* The C API of smx (smx/smx.h): softmax of a few rows, a logsumexp over columns through a tensor
 * descriptor, and the error path. Exits 0 only if every result is the expected one.
 *
 *   cc softmax_example.c $(pkg-config --cflags --libs smx) -o softmax_example
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "smx/smx.h"

enum { kRows = 3, kCols = 3 };

static int Near(double got, double want, double tolerance) { return fabs(got - want) <= tolerance; }

int main(void) {
  const float logits[kRows][kCols] = {{2.0f, 1.0f, 0.5f}, {-1.0f, 0.0f, 1.0f}, {7.0f, 7.0f, 7.0f}};
  const double expected[kRows][kCols] = {
      {0.6285317192117624, 0.23122389762214907, 0.14024438316608848},
      {0.09003057317038046, 0.24472847105479767, 0.6652409557748219},
      {1.0 / 3, 1.0 / 3, 1.0 / 3}};
  float probs[kRows][kCols];
  int ok = 1;

  /* softmax of each row of a contiguous [3, 3] block, temperature 1. */
  smx_status status = smx_softmax_f32(&logits[0][0], &probs[0][0], kRows, kCols, 1.0);
  if (status != SMX_OK) {
    fprintf(stderr, "smx_softmax_f32: %s: %s\n", smx_status_string(status),
            smx_last_error_message());
    return 1;
  }
  printf("smx %s (%s)\nsoftmax:\n", smx_version(), smx_simd_target());
  for (int r = 0; r < kRows; ++r) {
    printf("  [%g, %g, %g] -> [%.7f, %.7f, %.7f]\n", logits[r][0], logits[r][1], logits[r][2],
           probs[r][0], probs[r][1], probs[r][2]);
    for (int c = 0; c < kCols; ++c) ok &= Near(probs[r][c], expected[r][c], 1e-6);
  }

  /* logsumexp down each column (axis 0) through tensor descriptors: x is [3, 3], out is [3]. */
  const int64_t shape[2] = {kRows, kCols};
  const int64_t out_shape[1] = {kCols};
  double column_lse[kCols];
  double logits64[kRows][kCols];
  for (int r = 0; r < kRows; ++r) {
    for (int c = 0; c < kCols; ++c) logits64[r][c] = logits[r][c];
  }
  const smx_tensor x = {&logits64[0][0], SMX_F64, 2, shape, NULL};
  const smx_tensor out = {column_lse, SMX_F64, 1, out_shape, NULL};
  status = smx_logsumexp(&x, &out, 0);
  if (status != SMX_OK) {
    fprintf(stderr, "smx_logsumexp: %s\n", smx_last_error_message());
    return 1;
  }
  printf("logsumexp over axis 0: [%.15f, %.15f, %.15f]\n", column_lse[0], column_lse[1],
         column_lse[2]);
  for (int c = 0; c < kCols; ++c) {
    const double want = log(exp(logits64[0][c]) + exp(logits64[1][c]) + exp(logits64[2][c]));
    ok &= Near(column_lse[c], want, 1e-14 * fabs(want));
  }

  /* A bad call: a negative temperature is an error, reported with a message naming the value. */
  status = smx_softmax_f32(&logits[0][0], &probs[0][0], kRows, kCols, -1.0);
  printf("temperature -1: %s: %s\n", smx_status_string(status), smx_last_error_message());
  ok &= status == SMX_INVALID_ARGUMENT && strstr(smx_last_error_message(), "-1") != NULL;

  printf("%s\n", ok ? "all results as expected" : "UNEXPECTED RESULTS");
  return ok ? 0 : 1;
}
