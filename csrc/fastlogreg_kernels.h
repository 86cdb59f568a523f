/* fastlogreg C kernels: the kernel contract of fastlogreg/backends/__init__.py in C.
 *
 * Every kernel exists for float64 data (suffix _f64) and float32 data (_f32).
 * Sizes and strides are int64_t; strides are counted in elements (not bytes) and may
 * be 0 (broadcast) or negative.  Model parameters (y, w, b, W, v, V, sample_weight)
 * and every gradient / Hessian-vector output are float64 and C-contiguous; labels are
 * int64 and C-contiguous.  A NULL sample_weight means unit weights; in cross_entropy
 * and softmax_loss_grad exactly one of labels / Y is non-NULL.
 * Every kernel returns 0, or -1 when it could not allocate its scratch memory.
 * Transcendental functions and all sums are evaluated in double.
 *
 * This file is also the cffi cdef (build_c_kernels.py drops the lines that start
 * with '#'), so it holds plain declarations only.
 */
#ifndef FASTLOGREG_KERNELS_H
#define FASTLOGREG_KERNELS_H
#include <stdint.h>

int flr_openmp_enabled(void);
/* 1 once a kernel has run a parallel region in this process (OpenMP's pool started). */
int flr_parallel_started(void);
/* Run every later parallel region on the calling thread (a child forked after the pool
 * started); results are unchanged, the chunks depend on n_threads alone. */
void flr_run_serially(void);
/* The code path of the hot loops that this process runs: "x86-64-v4 (AVX-512)",
 * "x86-64-v3 (AVX2+FMA)" or "baseline (SSE2)" in a portable build (picked at load time
 * by CPU features), "native (...)" or "fixed at build time (...)" when the compiler
 * flags fixed the ISA. */
const char *flr_instruction_set(void);

/* elementwise over an (n, d) array; out may alias x */
int flr_sigmoid_f64(int64_t n, int64_t d, const double *x, int64_t xs0, int64_t xs1, double scale, double *out, int64_t os0, int64_t os1, int n_threads);
int flr_sigmoid_f32(int64_t n, int64_t d, const float *x, int64_t xs0, int64_t xs1, double scale, float *out, int64_t os0, int64_t os1, int n_threads);
int flr_log_sigmoid_f64(int64_t n, int64_t d, const double *x, int64_t xs0, int64_t xs1, double *out, int64_t os0, int64_t os1, int n_threads);
int flr_log_sigmoid_f32(int64_t n, int64_t d, const float *x, int64_t xs0, int64_t xs1, float *out, int64_t os0, int64_t os1, int n_threads);
int flr_log_ndtr_f64(int64_t n, int64_t d, const double *x, int64_t xs0, int64_t xs1, double *out, int64_t os0, int64_t os1, int n_threads);
int flr_log_ndtr_f32(int64_t n, int64_t d, const float *x, int64_t xs0, int64_t xs1, float *out, int64_t os0, int64_t os1, int n_threads);

/* row-wise over the last axis of Z (n, C) */
int flr_logsumexp_f64(int64_t n, int64_t C, const double *Z, int64_t zs0, int64_t zs1, double *out, int64_t os0, int n_threads);
int flr_logsumexp_f32(int64_t n, int64_t C, const float *Z, int64_t zs0, int64_t zs1, float *out, int64_t os0, int n_threads);
int flr_softmax_f64(int64_t n, int64_t C, const double *Z, int64_t zs0, int64_t zs1, double *out, int64_t os0, int64_t os1, int n_threads);
int flr_softmax_f32(int64_t n, int64_t C, const float *Z, int64_t zs0, int64_t zs1, float *out, int64_t os0, int64_t os1, int n_threads);
int flr_log_softmax_f64(int64_t n, int64_t C, const double *Z, int64_t zs0, int64_t zs1, double *out, int64_t os0, int64_t os1, int n_threads);
int flr_log_softmax_f32(int64_t n, int64_t C, const float *Z, int64_t zs0, int64_t zs1, float *out, int64_t os0, int64_t os1, int n_threads);
int flr_inner_f64(int64_t n, int64_t d, const double *U, int64_t us0, int64_t us1, const double *V, int64_t vs0, int64_t vs1, double *out, int64_t os0, int n_threads);
int flr_inner_f32(int64_t n, int64_t d, const float *U, int64_t us0, int64_t us1, const float *V, int64_t vs0, int64_t vs1, float *out, int64_t os0, int n_threads);
int flr_cosine_similarity_f64(int64_t n, int64_t d, const double *U, int64_t us0, int64_t us1, const double *V, int64_t vs0, int64_t vs1, double *out, int64_t os0, int n_threads);
int flr_cosine_similarity_f32(int64_t n, int64_t d, const float *U, int64_t us0, int64_t us1, const float *V, int64_t vs0, int64_t vs1, float *out, int64_t os0, int n_threads);

/* per-sample losses */
int flr_binary_cross_entropy_f64(int64_t n, const double *z, int64_t zs, const double *y, double *out, int64_t os, int n_threads);
int flr_binary_cross_entropy_f32(int64_t n, const float *z, int64_t zs, const double *y, float *out, int64_t os, int n_threads);
int flr_cross_entropy_f64(int64_t n, int64_t C, const double *Z, int64_t zs0, int64_t zs1, const int64_t *labels, const double *Y, double *out, int64_t os, int n_threads);
int flr_cross_entropy_f32(int64_t n, int64_t C, const float *Z, int64_t zs0, int64_t zs1, const int64_t *labels, const double *Y, float *out, int64_t os, int n_threads);

/* fused loss + gradient: partial sums over the n rows of X (n, d).
 * result[0] = weighted loss sum, result[1] = gradient of the intercept. */
int flr_logistic_loss_grad_f64(int64_t n, int64_t d, const double *X, int64_t xs0, int64_t xs1, const double *y, const double *w, double b, const double *sample_weight, double *grad_w, double *result, int n_threads);
int flr_logistic_loss_grad_f32(int64_t n, int64_t d, const float *X, int64_t xs0, int64_t xs1, const double *y, const double *w, double b, const double *sample_weight, double *grad_w, double *result, int n_threads);
int flr_probit_loss_grad_f64(int64_t n, int64_t d, const double *X, int64_t xs0, int64_t xs1, const double *y, const double *w, double b, const double *sample_weight, double *grad_w, double *result, int n_threads);
int flr_probit_loss_grad_f32(int64_t n, int64_t d, const float *X, int64_t xs0, int64_t xs1, const double *y, const double *w, double b, const double *sample_weight, double *grad_w, double *result, int n_threads);
/* result[0] = weighted loss sum */
int flr_softmax_loss_grad_f64(int64_t n, int64_t d, int64_t C, const double *X, int64_t xs0, int64_t xs1, const int64_t *labels, const double *Y, const double *W, const double *b, const double *sample_weight, double *grad_W, double *grad_b, double *result, int n_threads);
int flr_softmax_loss_grad_f32(int64_t n, int64_t d, int64_t C, const float *X, int64_t xs0, int64_t xs1, const int64_t *labels, const double *Y, const double *W, const double *b, const double *sample_weight, double *grad_W, double *grad_b, double *result, int n_threads);

/* Hessian-vector products: result[0] = hv_b */
int flr_logistic_hessp_f64(int64_t n, int64_t d, const double *X, int64_t xs0, int64_t xs1, const double *w, double b, const double *sample_weight, const double *v, double v_b, double *hv, double *result, int n_threads);
int flr_logistic_hessp_f32(int64_t n, int64_t d, const float *X, int64_t xs0, int64_t xs1, const double *w, double b, const double *sample_weight, const double *v, double v_b, double *hv, double *result, int n_threads);
int flr_softmax_hessp_f64(int64_t n, int64_t d, int64_t C, const double *X, int64_t xs0, int64_t xs1, const double *W, const double *b, const double *sample_weight, const double *V, const double *v_b, double *hv, double *hv_b, int n_threads);
int flr_softmax_hessp_f32(int64_t n, int64_t d, int64_t C, const float *X, int64_t xs0, int64_t xs1, const double *W, const double *b, const double *sample_weight, const double *V, const double *v_b, double *hv, double *hv_b, int n_threads);

/* CSR twins of the fused and Hessian-vector kernels: X (n, d) as data (nnz), indices and
 * indptr (n + 1), contiguous, both int32 (_i32) or both int64 (_i64); row i holds the
 * entries indptr[i] <= p < indptr[i + 1] (indptr[0] may be > 0), column indices unsorted
 * and possibly repeated (repeats add).  Outputs and results as the dense kernels'. */
int flr_logistic_loss_grad_csr_f64_i32(int64_t n, int64_t d, const double *data, const int32_t *indices, const int32_t *indptr, const double *y, const double *w, double b, const double *sample_weight, double *grad_w, double *result, int n_threads);
int flr_logistic_loss_grad_csr_f64_i64(int64_t n, int64_t d, const double *data, const int64_t *indices, const int64_t *indptr, const double *y, const double *w, double b, const double *sample_weight, double *grad_w, double *result, int n_threads);
int flr_logistic_loss_grad_csr_f32_i32(int64_t n, int64_t d, const float *data, const int32_t *indices, const int32_t *indptr, const double *y, const double *w, double b, const double *sample_weight, double *grad_w, double *result, int n_threads);
int flr_logistic_loss_grad_csr_f32_i64(int64_t n, int64_t d, const float *data, const int64_t *indices, const int64_t *indptr, const double *y, const double *w, double b, const double *sample_weight, double *grad_w, double *result, int n_threads);
int flr_probit_loss_grad_csr_f64_i32(int64_t n, int64_t d, const double *data, const int32_t *indices, const int32_t *indptr, const double *y, const double *w, double b, const double *sample_weight, double *grad_w, double *result, int n_threads);
int flr_probit_loss_grad_csr_f64_i64(int64_t n, int64_t d, const double *data, const int64_t *indices, const int64_t *indptr, const double *y, const double *w, double b, const double *sample_weight, double *grad_w, double *result, int n_threads);
int flr_probit_loss_grad_csr_f32_i32(int64_t n, int64_t d, const float *data, const int32_t *indices, const int32_t *indptr, const double *y, const double *w, double b, const double *sample_weight, double *grad_w, double *result, int n_threads);
int flr_probit_loss_grad_csr_f32_i64(int64_t n, int64_t d, const float *data, const int64_t *indices, const int64_t *indptr, const double *y, const double *w, double b, const double *sample_weight, double *grad_w, double *result, int n_threads);
int flr_softmax_loss_grad_csr_f64_i32(int64_t n, int64_t d, int64_t C, const double *data, const int32_t *indices, const int32_t *indptr, const int64_t *labels, const double *Y, const double *W, const double *b, const double *sample_weight, double *grad_W, double *grad_b, double *result, int n_threads);
int flr_softmax_loss_grad_csr_f64_i64(int64_t n, int64_t d, int64_t C, const double *data, const int64_t *indices, const int64_t *indptr, const int64_t *labels, const double *Y, const double *W, const double *b, const double *sample_weight, double *grad_W, double *grad_b, double *result, int n_threads);
int flr_softmax_loss_grad_csr_f32_i32(int64_t n, int64_t d, int64_t C, const float *data, const int32_t *indices, const int32_t *indptr, const int64_t *labels, const double *Y, const double *W, const double *b, const double *sample_weight, double *grad_W, double *grad_b, double *result, int n_threads);
int flr_softmax_loss_grad_csr_f32_i64(int64_t n, int64_t d, int64_t C, const float *data, const int64_t *indices, const int64_t *indptr, const int64_t *labels, const double *Y, const double *W, const double *b, const double *sample_weight, double *grad_W, double *grad_b, double *result, int n_threads);
int flr_logistic_hessp_csr_f64_i32(int64_t n, int64_t d, const double *data, const int32_t *indices, const int32_t *indptr, const double *w, double b, const double *sample_weight, const double *v, double v_b, double *hv, double *result, int n_threads);
int flr_logistic_hessp_csr_f64_i64(int64_t n, int64_t d, const double *data, const int64_t *indices, const int64_t *indptr, const double *w, double b, const double *sample_weight, const double *v, double v_b, double *hv, double *result, int n_threads);
int flr_logistic_hessp_csr_f32_i32(int64_t n, int64_t d, const float *data, const int32_t *indices, const int32_t *indptr, const double *w, double b, const double *sample_weight, const double *v, double v_b, double *hv, double *result, int n_threads);
int flr_logistic_hessp_csr_f32_i64(int64_t n, int64_t d, const float *data, const int64_t *indices, const int64_t *indptr, const double *w, double b, const double *sample_weight, const double *v, double v_b, double *hv, double *result, int n_threads);
int flr_softmax_hessp_csr_f64_i32(int64_t n, int64_t d, int64_t C, const double *data, const int32_t *indices, const int32_t *indptr, const double *W, const double *b, const double *sample_weight, const double *V, const double *v_b, double *hv, double *hv_b, int n_threads);
int flr_softmax_hessp_csr_f64_i64(int64_t n, int64_t d, int64_t C, const double *data, const int64_t *indices, const int64_t *indptr, const double *W, const double *b, const double *sample_weight, const double *V, const double *v_b, double *hv, double *hv_b, int n_threads);
int flr_softmax_hessp_csr_f32_i32(int64_t n, int64_t d, int64_t C, const float *data, const int32_t *indices, const int32_t *indptr, const double *W, const double *b, const double *sample_weight, const double *V, const double *v_b, double *hv, double *hv_b, int n_threads);
int flr_softmax_hessp_csr_f32_i64(int64_t n, int64_t d, int64_t C, const float *data, const int64_t *indices, const int64_t *indptr, const double *W, const double *b, const double *sample_weight, const double *V, const double *v_b, double *hv, double *hv_b, int n_threads);

#endif
