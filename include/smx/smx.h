/* The C API of smx: softmax, log_softmax and logsumexp for C and for any language with a C FFI.
 *
 * A plain C header (C99 or later, and C++). The C++ API is smx/smx.hpp; both call the same code
 * and give bitwise identical results. The numerical contract (temperature limits, NaN, +-inf,
 * fully masked rows, empty rows, accuracy) is the one of smx/softmax.h and is not repeated here.
 *
 *   float x[6] = {2, 1, 0.5f, 0, 0, 0}, y[6];
 *   if (smx_softmax_f32(x, y, 2, 3, 1.0) != SMX_OK) {
 *     fprintf(stderr, "%s\n", smx_last_error_message());
 *   }
 *   // y = {0.6285, 0.2312, 0.1402, 1/3, 1/3, 1/3}
 *
 * Conventions, for every function here and for the ones later families add:
 *   - every operation returns an smx_status; SMX_OK is 0, anything else is an error, and
 *     smx_last_error_message() then names the bad value;
 *   - no C++ exception, abort or crash crosses this API on bad arguments: NULL pointers, bad
 *     dtypes, ranks, shapes, strides and axes are reported as SMX_INVALID_ARGUMENT;
 *   - the caller owns every buffer; smx keeps no pointer after a call returns;
 *   - functions may be called from any thread at once; the error message is per thread.
 */
#ifndef SMX_SMX_H_
#define SMX_SMX_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Status ---------------------------------------------------------------------------------- */

/* One code per smx::StatusCode (smx/status.h), with the same values. */
typedef enum smx_status {
  SMX_OK = 0,
  SMX_INVALID_ARGUMENT = 1, /* a bad value, pointer, shape, axis, stride or dtype */
  SMX_INTERNAL = 2          /* a broken invariant or an exception inside smx (please report it) */
} smx_status;

/* A short constant name of a status: "OK", "INVALID_ARGUMENT", "INTERNAL" ("UNKNOWN" for any
 * other value). Never NULL. */
const char* smx_status_string(smx_status status);

/* The message of the last call on this thread that failed, naming the bad value, such as
 * "softmax: temperature must be >= 0 (0 is the argmax limit, inf the uniform one), got -1.000000".
 * "" when no call on this thread has failed. Successful calls leave it unchanged (as errno). The
 * pointer stays valid until the next failing smx call on this thread. Never NULL. */
const char* smx_last_error_message(void);

/* ---- Tensors --------------------------------------------------------------------------------- */

/* Element types. f16 is IEEE binary16 and bf16 is bfloat16, both passed as their 16 bits
 * (uint16_t storage) and computed in f32. */
typedef enum smx_dtype { SMX_F32 = 0, SMX_F64 = 1, SMX_F16 = 2, SMX_BF16 = 3 } smx_dtype;

/* The largest rank a tensor may have. */
#define SMX_MAX_RANK 8

/* A view of a caller's buffer: smx never owns, allocates or frees it.
 *   data:    the first element (element [0, ..., 0]); may be NULL only when the tensor has no
 *            elements. An input's data is only read (cast a const pointer to void*).
 *   dtype:   an smx_dtype value (an int32_t so that the layout is the same in every language).
 *   rank:    0 to SMX_MAX_RANK; rank 0 is a scalar (one element).
 *   shape:   rank sizes, each >= 0; may be NULL when rank is 0.
 *   strides: rank strides in elements (not bytes), any sign; NULL means C-contiguous (row-major).
 * The field order and types are fixed; later versions only add functions, not fields. */
typedef struct smx_tensor {
  void* data;
  int32_t dtype;
  int32_t rank;
  const int64_t* shape;
  const int64_t* strides;
} smx_tensor;

/* ---- softmax, log_softmax, logsumexp (smx/softmax.h) ----------------------------------------- */

/* y = softmax(x / temperature) along `axis` (negative counts from the end: -1 is the last).
 * x and y have the same dtype and shape, any strides; y may be x (in place, same layout).
 * temperature >= 0: 0 is the hardmax limit, INFINITY the uniform one, 1 the plain softmax; a
 * negative or NaN temperature is SMX_INVALID_ARGUMENT. */
smx_status smx_softmax(const smx_tensor* x, const smx_tensor* y, int32_t axis, double temperature);

/* y = log_softmax(x / temperature) along `axis`; arguments as smx_softmax. */
smx_status smx_log_softmax(const smx_tensor* x, const smx_tensor* y, int32_t axis,
                           double temperature);

/* out = logsumexp(x) along `axis` (no temperature). out has x's dtype and either x's shape without
 * the axis or x's shape with the axis of size 1 (keepdim); any other shape is
 * SMX_INVALID_ARGUMENT. An empty axis gives -inf. */
smx_status smx_logsumexp(const smx_tensor* x, const smx_tensor* out, int32_t axis);

/* Weighted logsumexp, as scipy.special.logsumexp(x, axis, b=b, return_sign=...): out =
 * log|sum_j b_j exp(x_j)| along `axis`. b has x's dtype and shape (any strides, 0 included: a
 * stride-0 b is broadcast); out as for smx_logsumexp. sign may be NULL; otherwise it has out's
 * dtype and shape, does not overlap out, and receives +1, -1, 0 (the sum is exactly 0, out -inf)
 * or NaN (out NaN). Without sign, a negative sum gives out = NaN. An entry with b_j = 0 adds
 * nothing, even where x_j is +-inf or NaN; an empty axis gives -inf with sign 0. The contract in
 * full is smx::logsumexp(x, b, out, sign, options) in smx/softmax.h. */
smx_status smx_logsumexp_weighted(const smx_tensor* x, const smx_tensor* b, const smx_tensor* out,
                                  const smx_tensor* sign, int32_t axis);

/* Contiguous row-major [rows, cols] blocks, reduced along the rows (the last axis): y has
 * rows * cols elements, the logsumexp `out` has `rows`. x and y may be the same buffer. */
smx_status smx_softmax_f32(const float* x, float* y, size_t rows, size_t cols, double temperature);
smx_status smx_softmax_f64(const double* x, double* y, size_t rows, size_t cols,
                           double temperature);
smx_status smx_log_softmax_f32(const float* x, float* y, size_t rows, size_t cols,
                               double temperature);
smx_status smx_log_softmax_f64(const double* x, double* y, size_t rows, size_t cols,
                               double temperature);
smx_status smx_logsumexp_f32(const float* x, float* out, size_t rows, size_t cols);
smx_status smx_logsumexp_f64(const double* x, double* out, size_t rows, size_t cols);

/* ---- sigmoid, log_sigmoid, softplus (smx/sigmoid.h) ----------------------------------------- */

/* y = sigmoid(x), log_sigmoid(x) = -log1p(exp(-x)), softplus(x) = log1p(exp(x)), elementwise.
 * x and y have the same dtype and shape (any rank, 0 included), any strides; y may be x. Exact
 * over the whole range: log_sigmoid(-100) = -100, log_sigmoid(40) a tiny negative. */
smx_status smx_sigmoid(const smx_tensor* x, const smx_tensor* y);
smx_status smx_log_sigmoid(const smx_tensor* x, const smx_tensor* y);
smx_status smx_softplus(const smx_tensor* x, const smx_tensor* y);

/* Contiguous arrays of n elements; x and y may be the same buffer. */
smx_status smx_sigmoid_f32(const float* x, float* y, size_t n);
smx_status smx_sigmoid_f64(const double* x, double* y, size_t n);
smx_status smx_log_sigmoid_f32(const float* x, float* y, size_t n);
smx_status smx_log_sigmoid_f64(const double* x, double* y, size_t n);
smx_status smx_softplus_f32(const float* x, float* y, size_t n);
smx_status smx_softplus_f64(const double* x, double* y, size_t n);

/* ---- The calculus of softmax (smx/calculus.h) ------------------------------------------------ */

/* dz = y * (grad - <grad, y>) / temperature along `axis`, from the saved y = softmax(z / T).
 * grad, y and dz have one dtype and shape, any strides; dz may be grad or y. temperature must be
 * finite and > 0. */
smx_status smx_softmax_backward(const smx_tensor* grad, const smx_tensor* y, const smx_tensor* dz,
                                int32_t axis, double temperature);
/* dz = (grad - exp(out) * sum(grad)) / temperature, from the saved out = log_softmax(z / T). */
smx_status smx_log_softmax_backward(const smx_tensor* grad, const smx_tensor* out,
                                    const smx_tensor* dz, int32_t axis, double temperature);
/* jv = J v = y * (v - <v, y>) / temperature (forward mode). */
smx_status smx_softmax_jvp(const smx_tensor* y, const smx_tensor* v, const smx_tensor* jv,
                           int32_t axis, double temperature);
/* jacobian = (diag(y) - y y^T) / T of y = softmax(z / T) along `axis`, per row: z's shape without
 * the axis, then K, K. */
smx_status smx_softmax_jacobian(const smx_tensor* z, const smx_tensor* jacobian, int32_t axis,
                                double temperature);

/* out = the entropy -sum y log y of y = softmax(z / T) along `axis`, in nats; out has z's dtype
 * and z's shape without the axis (or with it of size 1). temperature >= 0 (0 and INFINITY are the
 * limits). NaN or +inf in a row gives NaN, a fully masked row 0. */
smx_status smx_entropy(const smx_tensor* z, const smx_tensor* out, int32_t axis,
                       double temperature);

/* ---- Losses (smx/losses.h) ------------------------------------------------------------------- */

/* How per-sample losses are reduced (PyTorch's `reduction`). */
typedef enum smx_reduction {
  SMX_REDUCTION_NONE = 0, /* loss: the logits' shape without the class axis */
  SMX_REDUCTION_SUM = 1,  /* loss: one element */
  SMX_REDUCTION_MEAN = 2  /* loss: one element, the sum / D (see smx/losses.h) */
} smx_reduction;

/* The options of the cross-entropies. Start from smx_cross_entropy_defaults(): mean, ignore_index
 * -100, no smoothing, no weights, class axis -1.
 *   weight: NULL, or a [C] tensor of the logits' dtype (one weight per class). */
typedef struct smx_cross_entropy_options {
  int32_t reduction; /* an smx_reduction */
  int32_t axis;
  int64_t ignore_index;
  double label_smoothing; /* in [0, 1] */
  const smx_tensor* weight;
} smx_cross_entropy_options;

smx_cross_entropy_options smx_cross_entropy_defaults(void);

/* Softmax cross-entropy with class indices, PyTorch's F.cross_entropy, fused with its gradient:
 * target holds num_targets int64 class indices, one per sample (row along options->axis). grad
 * (may be NULL: the loss only) has the logits' shape and dtype and may be the logits themselves
 * (in place). options may be NULL (the defaults). A target outside [0, C) that is not
 * ignore_index is SMX_INVALID_ARGUMENT, naming the sample and the value; nothing is written then. */
smx_status smx_cross_entropy(const smx_tensor* logits, const int64_t* target, int64_t num_targets,
                             const smx_tensor* loss, const smx_tensor* grad,
                             const smx_cross_entropy_options* options);
/* The same with probability targets: target has the logits' shape and dtype (ignore_index is
 * not used; mean divides by the number of samples). */
smx_status smx_cross_entropy_probs(const smx_tensor* logits, const smx_tensor* target,
                                   const smx_tensor* loss, const smx_tensor* grad,
                                   const smx_cross_entropy_options* options);
/* Distillation: loss (one element) = T^2/N sum_n KL(softmax(teacher/T) || softmax(student/T)),
 * grad (may be NULL, or the student itself) = (T/N) (softmax(student/T) - softmax(teacher/T)). */
smx_status smx_kl_div_distill(const smx_tensor* student, const smx_tensor* teacher,
                              const smx_tensor* loss, const smx_tensor* grad, int32_t axis,
                              double temperature);

/* ---- Attention (smx/attention.h) ------------------------------------------------------------ */

typedef enum smx_mask_kind {
  SMX_MASK_NONE = 0,
  SMX_MASK_BOOL = 1,    /* one byte per entry: nonzero attends (the tensor's dtype is ignored) */
  SMX_MASK_ADDITIVE = 2 /* q's dtype, added to the scores; -inf leaves the key out */
} smx_mask_kind;

typedef enum smx_causal_alignment {
  SMX_CAUSAL_TOP_LEFT = 0,   /* query i attends keys j <= i (PyTorch's is_causal) */
  SMX_CAUSAL_LOWER_RIGHT = 1 /* j <= i + Lk - Lq (FlashAttention's; a KV-cache decoder's) */
} smx_causal_alignment;

/* The options of attention. Start from smx_attention_defaults(): no mask, not causal, top-left,
 * scale 1/sqrt(d) (has_scale 0), no GQA, no soft-capping, no sinks, no ALiBi.
 *   mask:         with mask_kind != SMX_MASK_NONE, broadcast to [B, H, Lq, Lk];
 *   softcap:      > 0: scores become softcap * tanh(score / softcap); 0: none;
 *   sinks:        NULL or [H] of q's dtype: one more logit per head in every row's denominator;
 *   alibi_slopes: NULL or [H] of q's dtype: score -= slope * |i + Lk - Lq - j|. */
typedef struct smx_attention_options {
  int32_t mask_kind;        /* an smx_mask_kind */
  int32_t is_causal;        /* 0 or 1 */
  int32_t causal_alignment; /* an smx_causal_alignment */
  int32_t enable_gqa;       /* 0 or 1: H a multiple of the key heads */
  int32_t has_scale;        /* 0: scale is 1/sqrt(d) */
  double scale;
  double softcap;
  const smx_tensor* mask;
  const smx_tensor* sinks;
  const smx_tensor* alibi_slopes;
} smx_attention_options;

smx_attention_options smx_attention_defaults(void);

/* out = softmax(scale q k^T + bias) v, computed with an online softmax (no score matrix):
 * q [B, H, Lq, d], k [B, Hk, Lk, d], v [B, Hk, Lk, dv], out [B, H, Lq, dv] (or without B, or
 * without B and H), one dtype, any strides. lse (NULL: not written) is [B, H, Lq], f64 for f64
 * data and f32 otherwise. A row with no key left gives out 0 and lse -inf. options may be NULL. */
smx_status smx_scaled_dot_product_attention(const smx_tensor* q, const smx_tensor* k,
                                            const smx_tensor* v, const smx_tensor* out,
                                            const smx_tensor* lse,
                                            const smx_attention_options* options);
/* The gradients dq, dk, dv (the shapes and dtype of q, k, v) from the forward call's out and lse
 * and grad_out = dL/dout; options as in the forward call. */
smx_status smx_scaled_dot_product_attention_backward(
    const smx_tensor* grad_out, const smx_tensor* q, const smx_tensor* k, const smx_tensor* v,
    const smx_tensor* out, const smx_tensor* lse, const smx_tensor* dq, const smx_tensor* dk,
    const smx_tensor* dv, const smx_attention_options* options);

/* ---- Sampling (smx/sampling.h) ---------------------------------------------------------------- */

/* The options of sampling. Start from smx_sampling_defaults(): T = 1, no top-k, top-p or min-p,
 * seed 0, step 0, row ids = the row indices. Each parameter is one value for every row, unless
 * its array (temperatures, top_ks, top_ps, min_ps) is not NULL: then it holds one value per row
 * (num_rows of them). top_k 0, top_p 1 and min_p 0 keep every token; T = 0 is greedy. */
typedef struct smx_sampling_options {
  double temperature;
  const double* temperatures;
  int64_t top_k;
  const int64_t* top_ks;
  double top_p;
  const double* top_ps;
  double min_p;
  const double* min_ps;
  uint64_t seed;
  uint64_t step;           /* < 2^32 */
  const uint64_t* row_ids; /* NULL: row r has id r */
} smx_sampling_options;

smx_sampling_options smx_sampling_defaults(void);

/* One token id per row of logits ([num_rows, V] or [V] with num_rows 1, any dtype and strides)
 * into tokens: temperature, then top-k, top-p, min-p, drawn with Philox keyed on (seed, row id,
 * step). logprobs and raw_logprobs (NULL: not written; else num_rows each) receive the token's
 * log-probability under the filtered and the unfiltered softmax(z / T). A NaN or +inf logit or a
 * row of -inf is an error naming the row; nothing is written then. options may be NULL. */
smx_status smx_sample(const smx_tensor* logits, int64_t* tokens, double* logprobs,
                      double* raw_logprobs, int64_t num_rows, const smx_sampling_options* options);

typedef enum smx_filter_output {
  SMX_FILTER_PROBABILITIES = 0, /* the filtered distribution, 0 on removed tokens */
  SMX_FILTER_LOGITS = 1         /* z / T on the survivors, -inf on removed tokens */
} smx_filter_output;

/* The filtered distribution of smx_sample itself: out has the logits' shape and dtype and may be
 * the logits. seed, step and row_ids are not used. */
smx_status smx_top_k_top_p_filter(const smx_tensor* logits, const smx_tensor* out, int32_t output,
                                  const smx_sampling_options* options);

/* Gumbel-max: argmax(z / T + G) per row, G Gumbel noise from Philox (seed, row id, step; row_ids
 * NULL or num_rows ids): a draw from softmax(z / T). T >= 0 (0 greedy). */
smx_status smx_gumbel_max(const smx_tensor* logits, int64_t* tokens, int64_t num_rows,
                          double temperature, uint64_t seed, uint64_t step,
                          const uint64_t* row_ids);
/* Gumbel-softmax (PyTorch's F.gumbel_softmax): out = softmax((z + G) / tau) per row, or with
 * hard != 0 the one-hot of its argmax. tau finite and > 0; out may be the logits. */
smx_status smx_gumbel_softmax(const smx_tensor* logits, const smx_tensor* out, double tau,
                              int32_t hard, uint64_t seed, uint64_t step, const uint64_t* row_ids);

/* ---- Threads and build information (smx/runtime.h) ------------------------------------------- */

/* The number of threads smx ops may use; 0 or less restores the default (the SMX_NUM_THREADS
 * environment variable when it holds a positive integer, else every core). Results are bitwise
 * identical for any thread count. Always SMX_OK. */
smx_status smx_set_num_threads(int32_t num_threads);
int32_t smx_get_num_threads(void);

/* The library version, such as "0.1.0". */
const char* smx_version(void);
/* The SIMD target that run-time dispatch chose on this CPU, such as "AVX3" (AVX-512), "AVX2",
 * "SSE4" or "EMU128". */
const char* smx_simd_target(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SMX_SMX_H_ */
