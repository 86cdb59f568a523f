/* fastlogreg C kernels: shared scalar functions and helpers; the kernels themselves
 * live in kernels_impl.h, included once for double (_f64) and once for float (_f32).
 *
 * Parallel scheme: the rows are split into n_threads static,
 * contiguous chunks (sizes differ by at most one row); a chunk is reduced in row order
 * into its own 64-byte aligned partial buffer (no false sharing), and the partials are
 * added in chunk order.  The chunking depends on n_threads only -- small inputs run the
 * same chunks on one thread (OpenMP `if` clause) and a build without OpenMP runs them
 * serially -- so the result is a function of (inputs, n_threads): bit-identical on
 * repeated calls.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fastlogreg_kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Elements (rows x columns) below which a kernel keeps its chunks on one thread. */
#define FLR_PAR_MIN ((int64_t)1 << 15)
/* Bytes of X per block in the unit-stride path of the fused binary kernels: the block is
 * read from memory once (dot products), stays in L1 for the gradient update, while the
 * next block is prefetched with PREFETCHT1.  That fills L2 on Intel and AMD Zen 4, but L1
 * on AMD Zen 1-3, where the block and the next one must both fit a 32 KiB L1.  The size
 * is a property of the CPU, not of the ISA level it runs (a Zen 4 pinned to x86-64-v3
 * keeps 24 KiB), so it is chosen at load time (flr_choose_block_bytes).  The sums do not
 * depend on it. */
#define FLR_BLOCK_BYTES (24 * 1024)
#define FLR_BLOCK_BYTES_L1_PREFETCH (12 * 1024)
static int64_t flr_block_bytes = FLR_BLOCK_BYTES;
#define FLR_MAX_BLOCK 512
/* Rows per block of the narrow (d <= 16) binary kernel: the block, converted to double,
 * takes 8 KiB of L1. */
#define FLR_NARROW_BLOCK 64
/* Most rows per block of the softmax kernels: the block's residuals wait in scratch and
 * go into the gradient together, each register tile of it loaded and stored once a block. */
#define FLR_SOFTMAX_ROWS 32
/* Most bytes of X per softmax block: every register tile of the update re-reads the
 * block, from L1 or L2 (256 KiB: 32 rows up to d = 1024 float64). */
#define FLR_SOFTMAX_BYTES (256 * 1024)
/* Rows per block of the CSR binary kernels (kernels_csr.h): their scores, then their
 * losses and residuals in one loop, then their updates, the block's entries still in L1. */
#define FLR_CSR_BLOCK 32
/* Most classes per group of the CSR softmax scores (their sums held in registers). */
#define FLR_CSR_GROUP 8
/* Classes up to which the row-wise softmax keeps a row's exps on the stack (computed once). */
#define FLR_ROW_EXPS 256

int flr_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

/* The hot row loops (kernels_rows.h) are compiled once per x86-64 ISA level, each with
 * its own vector width and register tiles, and one of them is picked when the module is
 * loaded (flr_select_isa): a portable binary that still uses AVX2 + FMA (x86-64-v3) or
 * AVX-512 (x86-64-v4) where present.  The build lets GCC contract a*b+c into an FMA
 * (-ffp-contract=fast, see build_c_kernels.py), and the lane count of the dot products
 * follows the vector width, so the last bits of a result depend on the level the CPU
 * gets; on one machine the summation order is fixed in the source and repeated calls
 * are bit-identical.  A build whose flags already enable AVX2 (-march=...) compiles
 * the rows once, for those flags. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11 && defined(__x86_64__) \
    && defined(__linux__) && !defined(__AVX2__) && !defined(FLR_NO_CLONES)
#define FLR_DISPATCH 1
#endif

#if defined(__GNUC__)
#define FLR_INLINE static inline __attribute__((always_inline))
#else
#define FLR_INLINE static inline
#endif

/* Prefetch into L2 up to `count` cache lines from *cursor, stopping at `end`; the cursor
 * moves on.  The fused kernels call it a few lines at a time while they compute on a
 * block already in cache, for the next block: the memory bus keeps streaming X instead
 * of idling during the arithmetic.  A hint only: it never faults and changes no result. */
static inline void prefetch_lines(const char **cursor, const char *end, int64_t count)
{
    const char *p = *cursor;
#if defined(__GNUC__)
    for (int64_t k = 0; k < count && p < end; k++, p += 64) __builtin_prefetch(p, 0, 2);
#else
    (void)end;
    (void)count;
#endif
    *cursor = p;
}

#define FLR_FAR_MIN_ROW_BYTES 128

/* The second prefetch stream of the memory-bound binary kernels: after the scores of a
 * group of rows [p, p + bytes), every other line `distance` bytes further on (stopping at
 * `end`, the end of the thread's rows).  The next-block stream alone leaves the bus idle
 * for part of each block on AMD Zen 4: the binary kernel read X at 0.78 of the read pass,
 * 0.89-0.92 with both streams (1,000,000 x 100 float64, 2 threads).  One prefetch per
 * 128 bytes streams as fast as one per line (the caches' adjacent-line prefetchers fetch
 * the pair), in 12% fewer cycles when X is in cache.  Rows narrower than
 * FLR_FAR_MIN_ROW_BYTES go without it: their kernel waits on its arithmetic more than on
 * memory.  Addresses are compared as integers: the window may lie past the array, where
 * a pointer may not point. */
static inline void prefetch_span(const void *p, int64_t distance, int64_t bytes, const void *end)
{
#if defined(__GNUC__)
    uintptr_t q = (uintptr_t)p + (uintptr_t)distance, e = q + (uintptr_t)bytes;
    if (e > (uintptr_t)end) e = (uintptr_t)end;
    for (; q < e; q += 128) __builtin_prefetch((const void *)q, 0, 2);
#else
    (void)p;
    (void)distance;
    (void)bytes;
    (void)end;
#endif
}

/* prefetch_span's distance for rows of row_bytes, back to back (contiguous) or not; 0: no
 * stream. */
static inline int64_t far_distance(int contiguous, int64_t row_bytes)
{
    return contiguous && row_bytes >= FLR_FAR_MIN_ROW_BYTES ? flr_block_bytes * 2 / 3 : 0;
}

/* The prefetch window of a kernel working on rows ending at `next` (of a chunk ending at
 * `hi`; rows of `row_bytes` from `base`): the following `ahead` rows.  The cursor *pf
 * moves up to their start unless it is already past it; returns the window's end.  Rows
 * that are not contiguous get an empty window (the end is the cursor). */
static inline const char *next_window(const char *base, int64_t row_bytes, int contiguous, int64_t next,
                                      int64_t ahead, int64_t hi, const char **pf)
{
    if (!contiguous) return *pf;
    const char *start = base + next * row_bytes;
    if (*pf < start) *pf = start;
    return base + (next + ahead < hi ? next + ahead : hi) * row_bytes;
}

static inline int clamp_threads(int n_threads) { return n_threads < 1 ? 1 : n_threads; }

/* fork() and OpenMP.  GNU OpenMP's thread pool does not survive fork(): in the child of a
 * process whose pool has started, a parallel region with more than one thread waits
 * forever for pool threads the child does not have.  So the library records whether it
 * started a parallel region, and a forked child (told by the Python layer, which also
 * knows whether Numba's OpenMP layer started the same pool) calls flr_run_serially: from
 * then on every region runs on the calling thread.  The chunks and their reduction order
 * depend on n_threads alone, so the results stay bit-identical; only the speed changes. */
static int parallel_started;
static int serial_only;

int flr_parallel_started(void) { return __atomic_load_n(&parallel_started, __ATOMIC_RELAXED); }

void flr_run_serially(void) { __atomic_store_n(&serial_only, 1, __ATOMIC_RELAXED); }

/* The `if` clause of every parallel region: `work` elements on nt threads. */
static inline int go_parallel(int64_t work, int nt)
{
    if (nt < 2 || work < FLR_PAR_MIN || __atomic_load_n(&serial_only, __ATOMIC_RELAXED)) return 0;
    __atomic_store_n(&parallel_started, 1, __ATOMIC_RELAXED);
    return 1;
}

/* First row of chunk c when n rows are split into k chunks. */
static inline int64_t chunk_start(int64_t n, int c, int k)
{
    int64_t q = n / k, r = n % k;
    return q * c + (c < r ? c : r);
}

/* The rows [lo, hi) of chunk c of k over n rows (the parallel scheme above). */
struct flr_chunk {
    int64_t lo, hi;
};

static inline struct flr_chunk chunk_rows(int64_t n, int c, int k)
{
    struct flr_chunk ch = {chunk_start(n, c, k), chunk_start(n, c + 1, k)};
    return ch;
}

static inline int64_t pad8(int64_t m) { return (m + 7) & ~(int64_t)7; }

/* Rows per softmax block: a multiple of 4, at most FLR_SOFTMAX_ROWS, the block of X at
 * most FLR_SOFTMAX_BYTES (at least 4 rows). */
static inline int64_t softmax_block_rows(int64_t d, int64_t itemsize)
{
    int64_t rows = (FLR_SOFTMAX_BYTES / ((d > 0 ? d : 1) * itemsize)) & ~(int64_t)3;
    return rows < 4 ? 4 : rows > FLR_SOFTMAX_ROWS ? FLR_SOFTMAX_ROWS : rows;
}

/* Rows of the next softmax block when `left` rows remain: a multiple of 4, at most
 * `rows`; 0 when fewer than 4 remain (those go one at a time). */
static inline int64_t softmax_block(int64_t left, int64_t rows)
{
    int64_t nb = left & ~(int64_t)3;
    return nb < rows ? nb : rows;
}

/* The per-chunk buffer of a fused kernel: for each chunk its partial sums (reduced in
 * chunk order afterwards) and its scratch rows, at these offsets (in doubles, -1: none)
 * from the chunk's start.  The stride is a multiple of 8 doubles, so every chunk and every
 * partial sum starts 64-byte aligned (no false sharing between threads). */
struct flr_scratch {
    int64_t grad;   /* gradient (or H v) of the coefficients: d (binary) or C d (softmax) */
    int64_t grad_b; /* softmax: of the intercepts, C */
    int64_t acc;    /* scalar sums: binary loss and grad_b (2), logistic H v of b (1), softmax loss (1) */
    int64_t D, U, P; /* softmax: shifted scores (FLR_SOFTMAX_ROWS rows of C for loss_grad,
                      * else 4), direction scores and exps (4 rows of C) */
    int64_t R;      /* softmax: FLR_SOFTMAX_ROWS rows of C (a block's residuals; P for loss_grad) */
    int64_t stride; /* doubles per chunk */
};

/* A chunk's pointers into the buffer (NULL where the layout has none). */
struct flr_part {
    double *grad, *grad_b, *acc, *D, *U, *P, *R;
};

enum { FLR_FUSED_BINARY, FLR_FUSED_SOFTMAX, FLR_FUSED_SOFTMAX_HESSP };

/* The layout of a kind of fused kernel for d features and C classes. */
static struct flr_scratch scratch_layout(int kind, int64_t d, int64_t C)
{
    struct flr_scratch L = {0, -1, -1, -1, -1, -1, -1, 0};
    if (kind == FLR_FUSED_BINARY) {
        L.acc = pad8(d);
        L.stride = L.acc + 8;
        return L;
    }
    L.grad_b = pad8(C * d);
    L.D = L.grad_b + pad8(C);
    if (kind == FLR_FUSED_SOFTMAX) {
        L.R = L.D + FLR_SOFTMAX_ROWS * C;
        L.acc = L.D + pad8(2 * FLR_SOFTMAX_ROWS * C);
        L.stride = L.acc + 8;
    } else {
        L.U = L.D + 4 * C;
        L.P = L.D + 8 * C;
        L.R = L.D + 12 * C;
        L.stride = L.D + pad8((12 + FLR_SOFTMAX_ROWS) * C);
    }
    return L;
}

static inline double *part_at(double *chunk, int64_t offset) { return offset < 0 ? NULL : chunk + offset; }

/* Chunk c's part of buf. */
static struct flr_part scratch_part(double *buf, const struct flr_scratch *L, int c)
{
    double *base = buf + (int64_t)c * L->stride;
    struct flr_part p = {part_at(base, L->grad), part_at(base, L->grad_b), part_at(base, L->acc),
                         part_at(base, L->D),    part_at(base, L->U),      part_at(base, L->P),
                         part_at(base, L->R)};
    return p;
}

/* The arguments of a fused kernel besides X (float64, C-contiguous, as in
 * fastlogreg_kernels.h); a binary kernel's scalar b and v_b are read through pointers. */
struct flr_args {
    int link;              /* binary: FLR_LINK_LOGIT or FLR_LINK_PROBIT */
    int64_t C;             /* softmax: classes */
    const double *y;       /* binary targets (n) */
    const int64_t *labels; /* softmax hard labels (n), or NULL */
    const double *Y;       /* softmax soft labels (n, C), or NULL */
    const double *w;       /* coefficients: w (d) or W (C, d) */
    const double *b;       /* intercept: b (1) or (C) */
    const double *sw;      /* sample weights (n), or NULL (unit weights) */
    const double *v;       /* Hessian-vector products: the direction v (d) or V (C, d) */
    const double *v_b;     /* and its intercept part (1) or (C) */
};

/* What a fused kernel returns: out[k] (len[k] doubles) is the chunk-order sum of the
 * partials at offset[k] of every chunk, k < count. */
struct flr_outputs {
    int count;
    double *out[3];
    int64_t offset[3], len[3];
};

/* A strided (rows, cols) array of data: element (i, j) at data[i * s0 + j * s1]. */
struct flr_matrix_f64 {
    const double *data;
    int64_t rows, cols, s0, s1;
};
struct flr_matrix_f32 {
    const float *data;
    int64_t rows, cols, s0, s1;
};

/* count doubles, 64-byte aligned; *raw is what to free(). */
static double *alloc_aligned(int64_t count, void **raw)
{
    *raw = malloc((size_t)count * sizeof(double) + 64);
    if (*raw == NULL) return NULL;
    return (double *)(((uintptr_t)*raw + 63) & ~(uintptr_t)63);
}

/* dst[j] = sum over chunks c (in order) of part[c * stride + j], j < m. */
static void reduce_chunks(const double *part, int nchunks, int64_t stride, int64_t m, double *dst)
{
    for (int64_t j = 0; j < m; j++) dst[j] = part[j];
    for (int c = 1; c < nchunks; c++) {
        const double *p = part + (int64_t)c * stride;
        for (int64_t j = 0; j < m; j++) dst[j] += p[j];
    }
}

/* ------------------------------------------------------------------ scalar functions */
static const double LOG_SQRT_2PI = 0.91893853320467274178032973640562; /* log(2 pi) / 2 */
static const double SQRT1_2 = 0.70710678118654752440084436210485;

/* S(x) = sum_{k >= 1} (-1)^k (2k-1)!! / x^(2k) for x < -20, summed until the terms stop
 * mattering (the tenth is below 1e-17):  Phi(x) = phi(x) / (-x) * (1 + S(x)). */
static double mills_series(double x)
{
    double x2inv = 1.0 / (x * x), term = 1.0, series = 0.0;
    for (int k = 1; k < 40; k++) {
        term *= -(2.0 * k - 1.0) * x2inv;
        double next = series + term;
        if (next == series) break;
        series = next;
    }
    return series;
}

/* log Phi(x) for x < -20 given series = S(x): -x^2/2 - log(-x) - log(2 pi)/2 + log1p(S). */
static double log_ndtr_asymptotic(double x, double series)
{
    return -0.5 * x * x - log(-x) - LOG_SQRT_2PI + log1p(series);
}

/* erfc(x / sqrt(2)) without the error of rounding t = x / sqrt(2), given g = exp(-x^2 / 2):
 * the rounding error dt (exact through fma) costs a relative 2 t^2 eps in erfc(t), 1e-13
 * at x = 30; erfc(t + dt) = erfc(t) - dt 2/sqrt(pi) exp(-t^2) to first order.  The
 * correction is tiny against erfc(t), so any accurate form of exp(-t^2) serves. */
static inline double erfc_scaled_arg_given(double x, double g)
{
    static const double SQRT1_2_LO = -4.8336466567264565e-17; /* 1/sqrt(2) - SQRT1_2 */
    static const double TWO_OVER_SQRTPI = 1.1283791670955125739;
    double t = x * SQRT1_2;
    if (!isfinite(t)) return erfc(t);
    double dt = fma(x, SQRT1_2, -t) + x * SQRT1_2_LO;
    return erfc(t) - dt * TWO_OVER_SQRTPI * g;
}

static inline double erfc_scaled_arg(double x)
{
    double t = x * SQRT1_2;
    return erfc_scaled_arg_given(x, exp(-t * t));
}

static inline double log_ndtr_d(double x)
{
    if (x >= -1.0) return log1p(-0.5 * erfc_scaled_arg(x));
    if (x >= -20.0) return log(0.5 * erfc_scaled_arg(-x));
    if (x < -20.0) return log_ndtr_asymptotic(x, mills_series(x));
    return x; /* NaN */
}

/* ---- branch-free exp and log1p, so that loops over a block of rows vectorize ----
 * (as the Numba kernels' scalar.exp_nonpositive / log1p_nonnegative).  Bit casts go
 * through memcpy, which compilers turn into register moves. */
FLR_INLINE uint64_t double_bits(double x) { uint64_t u; memcpy(&u, &x, sizeof u); return u; }
FLR_INLINE double bits_double(uint64_t u) { double x; memcpy(&x, &u, sizeof x); return x; }

static const double LN2_HI = 6.93147180369123816490e-01; /* fdlibm: ln 2 = LN2_HI + LN2_LO */
static const double LN2_LO = 1.90821492927058770002e-10;
static const double INV_LN2 = 1.44269504088896338700e+00;
static const double ROUND_MAGIC = 6755399441055744.0; /* 1.5 * 2^52: x + it rounds x to an integer */
static const uint64_t ROUND_MAGIC_BITS = 0x4338000000000000ULL;
static const uint64_t SQRT_HALF_BITS = 0x3FE6A09E667F3BCDULL;

/* exp(x) for x <= 0 (also -inf, NaN): k = round(x / ln 2), r = x - k ln 2 in about
 * [-ln2/2, ln2/2], exp(r) by its Taylor polynomial of degree 13 (truncation < 1e-17),
 * times 2^k in two factors so that subnormal results are right; x < -746 gives 0.
 * Within 2 ulp of exp. */
FLR_INLINE double exp_nonpositive(double x)
{
    double xc = x < -746.0 ? -746.0 : x;
    double t = xc * INV_LN2 + ROUND_MAGIC;
    uint64_t neg_k = ROUND_MAGIC_BITS - double_bits(t); /* -k >= 0 */
    double kf = t - ROUND_MAGIC;
    double r = (xc - kf * LN2_HI) - kf * LN2_LO;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    uint64_t h1 = neg_k >> 1, h2 = neg_k - h1; /* 2^k = 2^-h1 2^-h2, each a normal number */
    return p * bits_double((1023 - h1) << 52) * bits_double((1023 - h2) << 52);
}

/* log1p(x) for finite x >= 0 (also NaN) given inv = 1 / (1 + x), branch-free, fdlibm's
 * method: u = 1 + x with its rounding error c = (x - (u - 1)) / u carried along (for
 * u < 2^53 both subtractions are exact: 1 and x are multiples of ulp(x) <= ulp(u) and the
 * differences are small multiples of it; past 2^53 c = 0 and log1p(x) = log(x) to well
 * within an ulp; c / u as c inv: c matters only where it is tiny against the result, or
 * where u = 1 and inv = 1 exactly), u = 2^k m with m in [sqrt(1/2), sqrt(2)),
 * log m = f - hfsq + s (hfsq + R(s^2)), f = m - 1, s = f / (2 + f), fdlibm's minimax R.
 * Within 1 ulp of log1p. */
FLR_INLINE double log1p_nonneg_inv(double x, double inv)
{
    double u = 1.0 + x;
    uint64_t bits = double_bits(u);
    uint64_t k = (bits - SQRT_HALF_BITS) >> 52; /* u >= 1 > sqrt(1/2): no borrow */
    double m = bits_double(bits - (k << 52));
    double kf = bits_double(ROUND_MAGIC_BITS + k) - ROUND_MAGIC;
    double c = (x - (u - 1.0)) * inv;
    double f = m - 1.0;
    double hfsq = 0.5 * f * f;
    double s = f / (2.0 + f);
    double z = s * s, w = z * z;
    double t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
    double t2 = z * (6.666666666666735130e-01 + w * (2.857142874366239149e-01
                     + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    double result = kf * LN2_HI - ((hfsq - (s * (hfsq + t2 + t1) + (kf * LN2_LO + c))) - f);
    return x == x ? result : x;
}

/* log1p(x) for x in [0, 1] (also NaN): log1p_nonneg_inv with its own division. */
FLR_INLINE double log1p_unit(double x) { return log1p_nonneg_inv(x, 1.0 / (1.0 + x)); }

/* Binary cross-entropy l(z, y) = y softplus(-z) + (1-y) softplus(z) and its derivative
 * dl/dz = s(z) - y given e = exp(-|z|), from one log1p and one division; for hard labels
 * one term vanishes exactly (y = 1: l = softplus(-z), r = -s(-z), no cancellation).  The
 * branch-free log1p and selections only: a loop over rows of this vectorizes. */
FLR_INLINE void logistic_point_exp(double z, double e, double y, double *loss, double *residual)
{
    double inv = 1.0 / (1.0 + e), l1 = log1p_nonneg_inv(e, inv), ei = e * inv;
    double sp_pos = (z > 0.0 ? z : 0.0) + l1;
    double sp_neg = (z < 0.0 ? -z : 0.0) + l1;
    double s_pos = z >= 0.0 ? inv : ei;
    double s_neg = z >= 0.0 ? ei : inv;
    double soft = y * sp_neg + (1.0 - y) * sp_pos;
    *loss = y == 1.0 ? sp_neg : (y == 0.0 ? sp_pos : soft);
    *residual = y == 1.0 ? -s_neg : s_pos - y;
}

FLR_INLINE void logistic_point_vec(double z, double y, double *loss, double *residual)
{
    logistic_point_exp(z, exp_nonpositive(-fabs(z)), y, loss, residual);
}

static const double INV_SQRT_2PI = 0.39894228040143267793994605993438;

/* exp(-z^2/2), with z^2 = hi + lo split exactly (fma) so that the rounding of z^2 (a
 * relative z^2 eps / 2 in exp) does not count. */
static inline double gauss(double z)
{
    double hi = z * z;
    if (!(hi < INFINITY)) return hi == INFINITY ? 0.0 : hi; /* |z| huge: 0; NaN propagates */
    double lo = fma(z, z, -hi);
    return exp(-0.5 * hi) * (1.0 - 0.5 * lo);
}

/* log Phi(x) and phi(x) / Phi(x) (the inverse Mills ratio) from one erfc, one exp and one
 * log: for x < -20 from the asymptotic series S(x), where exp(log phi - log Phi) would
 * cancel (both ~ -x^2/2: at x = -1e9 it returns 1 instead of 1e9); for -20 <= x <= 0 from
 * P = Phi(x) = erfc(-x / sqrt 2) / 2: log P and phi / P; for x > 0 from
 * Q = 1 - Phi(x) = erfc(x / sqrt 2) / 2: log1p(-Q) (no cancellation as Phi -> 1) and
 * phi / (1 - Q), 1 - Q >= 1/2 rounded once.  exp(-x^2/2) serves phi and erfc's correction. */
static inline void log_ndtr_and_mills(double x, double *log_cdf, double *mills)
{
    if (x < -20.0) {
        double series = mills_series(x);
        *log_cdf = log_ndtr_asymptotic(x, series);
        *mills = -x / (1.0 + series);
        return;
    }
    double g = gauss(x), pdf = g * INV_SQRT_2PI; /* NaN x: NaN here and in erfc, so in both */
    if (x <= 0.0) {
        double cdf = 0.5 * erfc_scaled_arg_given(-x, g);
        *log_cdf = log(cdf);
        *mills = pdf / cdf;
    } else {
        double tail = 0.5 * erfc_scaled_arg_given(x, g);
        *log_cdf = log1p(-tail);
        *mills = pdf / (1.0 - tail);
    }
}

/* Probit: l = -y log Phi(z) - (1-y) log Phi(-z), dl/dz = -y phi/Phi(z) + (1-y) phi/Phi(-z). */
static inline void probit_point(double z, double y, double *loss, double *residual)
{
    double lc, m;
    if (z != z) {
        *loss = *residual = z;
    } else if (y == 1.0) {
        log_ndtr_and_mills(z, &lc, &m);
        *loss = -lc;
        *residual = -m;
    } else if (y == 0.0) {
        log_ndtr_and_mills(-z, &lc, &m);
        *loss = -lc;
        *residual = m;
    } else {
        double ls, mn;
        log_ndtr_and_mills(z, &lc, &m);
        log_ndtr_and_mills(-z, &ls, &mn);
        *loss = -y * lc - (1.0 - y) * ls;
        *residual = -y * m + (1.0 - y) * mn;
    }
}

/* z_k - m with the infinite-max rule: where m is infinite, entries equal to m get 0 and
 * the others -inf.  A NaN m (some z_k is NaN) makes everything NaN. */
FLR_INLINE double shifted(double zk, double m)
{
    if (isinf(m)) return zk == m ? 0.0 : -INFINITY;
    return zk - m;
}

/* nr consecutive rows of C scores (contiguous doubles, C >= 1): in each row
 * D_k = shifted(z_k, m) is written over z and E_k = exp(D_k) into E; sums[r] is
 * sum_{k != first argmax} E_k and argmax[r] the argmax.  A NaN anywhere in a row makes
 * its m, and so every D_k, NaN.  The shifts go row by row, the exps of all nr C scores
 * in one loop, which vectorizes (one exp at a time was the softmax kernels' bottleneck). */
FLR_INLINE void rows_shift_exp(double *z, double *E, int64_t C, int nr, double *sums, int64_t *argmax)
{
    for (int r = 0; r < nr; r++) {
        double *zr = z + r * C;
        double m = zr[0];
        int64_t am = 0;
        int has_nan = isnan(zr[0]);
        for (int64_t k = 1; k < C; k++) { /* selects, not branches: the argmax is random */
            int greater = zr[k] > m;
            am = greater ? k : am;
            m = greater ? zr[k] : m;
            has_nan |= isnan(zr[k]);
        }
        if (has_nan) m = NAN;
        for (int64_t k = 0; k < C; k++) zr[k] = shifted(zr[k], m);
        argmax[r] = am;
    }
    for (int64_t q = 0; q < nr * C; q++) E[q] = exp_nonpositive(z[q]); /* z[q] <= 0, -inf or NaN */
    for (int r = 0; r < nr; r++) {
        const double *Er = E + r * C;
        double s = 0.0;
        /* the argmax adds E - 1: exactly 0 (its D is 0), unless the row holds a NaN, whose
         * NaN must reach the sum also in a row of one class, which has no other term */
        for (int64_t k = 0; k < C; k++) s += k != argmax[r] ? Er[k] : Er[k] - 1.0;
        sums[r] = s;
    }
}

/* The pointwise parts of the fused kernels, shared by the dense rows (compiled once per
 * ISA level, into which they are inlined) and the CSR kernels (kernels_csr.h). */
enum { FLR_LINK_LOGIT, FLR_LINK_PROBIT };

/* Loss and residual of the nb rows of a block: z[k] in, loss[k] and r[k] out (weighted).
 * The logit link uses the branch-free exp/log1p: this loop vectorizes. */
FLR_INLINE void block_pointwise(int link, int64_t nb, const double *z, const double *y,
                                const double *sw, double *restrict loss, double *restrict r)
{
    if (link == FLR_LINK_LOGIT) {
        double e[FLR_MAX_BLOCK];
        for (int64_t k = 0; k < nb; k++) e[k] = exp_nonpositive(-fabs(z[k]));
        if (sw == NULL) {
            for (int64_t k = 0; k < nb; k++) logistic_point_exp(z[k], e[k], y[k], &loss[k], &r[k]);
        } else {
            for (int64_t k = 0; k < nb; k++) {
                double l, q;
                logistic_point_exp(z[k], e[k], y[k], &l, &q);
                loss[k] = l * sw[k];
                r[k] = q * sw[k];
            }
        }
    } else {
        for (int64_t k = 0; k < nb; k++) {
            double l, q;
            probit_point(z[k], y[k], &l, &q);
            double s = sw != NULL ? sw[k] : 1.0;
            loss[k] = l * s;
            r[k] = q * s;
        }
    }
}

/* One row's loss and residuals from its shifted scores D and their exps P (class k at
 * D[k st], P[k st]), with sum and am from rows_shift_exp: P := s (p - y); returns the
 * weighted loss s * (lse - D_y). */
FLR_INLINE double softmax_point(double *D, double *P, int64_t st, double sum, int64_t am, int64_t C,
                                int64_t i, const int64_t *labels, const double *Y, const double *sw)
{
    double inv = 1.0 / (1.0 + sum), L = log1p_nonneg_inv(sum, inv);
    double s = sw != NULL ? sw[i] : 1.0;
    double point;
    /* P_k = E_k / (1 + sum) = softmax_k; the residual r_k = s (P_k - Y_k) over it */
    if (labels != NULL) {
        int64_t t = labels[i];
        point = L - D[t * st];
        for (int64_t k = 0; k < C; k++) P[k * st] = s * (P[k * st] * inv);
        /* p_t - 1 = -sum / (1 + sum) when t is the argmax: no cancellation */
        P[t * st] = t == am ? -s * (sum * inv) : P[t * st] - s;
    } else {
        const double *yi = Y + i * C;
        point = 0.0;
        for (int64_t k = 0; k < C; k++) {
            if (yi[k] > 0.0) point += yi[k] * (L - D[k * st]);
            P[k * st] = s * (P[k * st] * inv - yi[k]);
        }
    }
    return s * point;
}

/* rows_shift_exp and softmax_point for the nb <= FLR_SOFTMAX_ROWS rows i0 + r of a block,
 * held class-major: D[k * FLR_SOFTMAX_ROWS + r] is row r's score of class k.  On exit D
 * holds the shifted scores, E the weighted residuals (same layout) and point[r] each
 * row's weighted loss.  Each loop runs over the block's rows, so it vectorizes; every row
 * gets the operations of the row-wise functions in their order.  Soft labels go row by
 * row through softmax_point. */
FLR_INLINE void block_softmax_point(double *restrict D, double *restrict E, int64_t C, int64_t nb, int64_t i0,
                                    const int64_t *labels, const double *Y, const double *sw,
                                    double *restrict point)
{
    enum { NB = FLR_SOFTMAX_ROWS };
    double m[NB], sum[NB], inv[NB], L[NB], s[NB];
    int64_t am[NB];
    /* the loops below run over all NB rows (no remainder loops); rows past nb get zeros */
    if (nb < NB)
        for (int64_t k = 0; k < C; k++)
            for (int64_t r = nb; r < NB; r++) D[k * NB + r] = 0.0;
    for (int64_t r = 0; r < NB; r++) {
        m[r] = D[r];
        am[r] = 0;
        sum[r] = isnan(D[r]) ? 1.0 : 0.0; /* a NaN flag until the sums start */
    }
    for (int64_t k = 1; k < C; k++) {
        const double *Dk = D + k * NB;
        for (int64_t r = 0; r < NB; r++) {
            int greater = Dk[r] > m[r];
            am[r] = greater ? k : am[r];
            m[r] = greater ? Dk[r] : m[r];
            sum[r] = isnan(Dk[r]) ? 1.0 : sum[r];
        }
    }
    for (int64_t r = 0; r < NB; r++) {
        m[r] = sum[r] != 0.0 ? NAN : m[r];
        sum[r] = 0.0;
    }
    for (int64_t k = 0; k < C; k++) {
        double *Dk = D + k * NB, *Ek = E + k * NB;
        for (int64_t r = 0; r < NB; r++) {
            Dk[r] = shifted(Dk[r], m[r]);
            Ek[r] = exp_nonpositive(Dk[r]);
            sum[r] += k != am[r] ? Ek[r] : Ek[r] - 1.0; /* as rows_shift_exp */
        }
    }
    if (labels == NULL) { /* soft labels: row by row */
        for (int64_t r = 0; r < nb; r++)
            point[r] = softmax_point(D + r, E + r, NB, sum[r], am[r], C, i0 + r, NULL, Y, sw);
        return;
    }
    for (int64_t r = 0; r < NB; r++) {
        inv[r] = 1.0 / (1.0 + sum[r]);
        L[r] = log1p_nonneg_inv(sum[r], inv[r]);
        s[r] = 1.0;
    }
    if (sw != NULL)
        for (int64_t r = 0; r < nb; r++) s[r] = sw[i0 + r];
    for (int64_t k = 0; k < C; k++) {
        double *Ek = E + k * NB;
        for (int64_t r = 0; r < NB; r++) Ek[r] = s[r] * (Ek[r] * inv[r]);
    }
    for (int64_t r = 0; r < nb; r++) {
        int64_t t = labels[i0 + r];
        double *et = E + t * NB + r;
        point[r] = s[r] * (L[r] - D[t * NB + r]);
        *et = t == am[r] ? -s[r] * (sum[r] * inv[r]) : *et - s[r];
    }
}

/* One row's Hessian-weighted residuals from the exps P (C) of its shifted scores and their
 * non-argmax sum (rows_shift_exp), U (C) the direction's scores: P := the softmax,
 * R := s p_k (u_k - p . u). */
FLR_INLINE void softmax_hessp_point(const double *U, double *P, double *R, double sum, int64_t C,
                                    double s)
{
    double inv = 1.0 / (1.0 + sum);
    double pu = 0.0;
    for (int64_t k = 0; k < C; k++) {
        P[k] *= inv; /* p_k */
        pu += P[k] * U[k];
    }
    for (int64_t k = 0; k < C; k++) R[k] = s * P[k] * (U[k] - pu);
}

/* ------------------------------------------------------------------ vector helpers */
/* GCC/Clang vector extensions: 8 doubles (flr_v8d, AVX-512's register) and 4 doubles
 * (flr_v4d, AVX2's).  Each lane of a dot product's accumulator is an independent partial
 * sum, so the order of every sum is fixed by the source and by the lane count. */
#if defined(__GNUC__)
#define FLR_VECTOR 1
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h> /* the conversions of the AVX levels (kernels_rows.h) */
#endif
/* always inlined into the ISA-level rows: the baseline ABI of a vector return never matters */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef double flr_v8d __attribute__((vector_size(64)));
typedef float flr_v8f __attribute__((vector_size(32)));
typedef int64_t flr_v8l __attribute__((vector_size(64)));
typedef double flr_v4d __attribute__((vector_size(32)));
typedef int64_t flr_v4l __attribute__((vector_size(32)));
FLR_INLINE flr_v8d load8_f64(const double *p)
{
    flr_v8d v;
    memcpy(&v, p, sizeof v);
    return v;
}
FLR_INLINE flr_v4d load4_f64(const double *p)
{
    flr_v4d v;
    memcpy(&v, p, sizeof v);
    return v;
}
/* The final tree of a vector of 8 partial sums: the one of SFX(dot) with 8 lanes, so
 * that every multi-row dot product stays bit-identical to it. */
FLR_INLINE double sum8(flr_v8d q)
{
    return ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7]));
}
/* Lanes (a0 + a1, a2 + a3, a4 + a5, a6 + a7, b0 + b1, ..., b6 + b7). */
FLR_INLINE flr_v8d pair_sums(flr_v8d a, flr_v8d b)
{
    const flr_v8l even = {0, 2, 4, 6, 8, 10, 12, 14}, odd = {1, 3, 5, 7, 9, 11, 13, 15};
    return __builtin_shuffle(a, b, even) + __builtin_shuffle(a, b, odd);
}
/* sum8 of eight vectors at once: lane r is sum8(s[r]), by the same additions (a
 * transposing tree of 14 shuffles and 7 vector adds instead of 8 scalar trees). */
FLR_INLINE flr_v8d sum8x8(const flr_v8d s[8])
{
    flr_v8d p0 = pair_sums(s[0], s[1]), p1 = pair_sums(s[2], s[3]);
    flr_v8d p2 = pair_sums(s[4], s[5]), p3 = pair_sums(s[6], s[7]);
    return pair_sums(pair_sums(p0, p1), pair_sums(p2, p3));
}
/* sum8 of four vectors at once: lane r < 4 is sum8(s[r]), by the same additions. */
FLR_INLINE flr_v8d sum8x4(const flr_v8d s[4])
{
    flr_v8d h = pair_sums(pair_sums(s[0], s[1]), pair_sums(s[2], s[3]));
    return pair_sums(h, h);
}
/* The same for 4 lanes: sum4 is the tree of SFX(dot) with 4 lanes, lane r of sum4x4 is
 * sum4(s[r]) by the same additions. */
FLR_INLINE double sum4(flr_v4d q) { return (q[0] + q[1]) + (q[2] + q[3]); }
FLR_INLINE flr_v4d pair_sums4(flr_v4d a, flr_v4d b)
{
    const flr_v4l even = {0, 2, 4, 6}, odd = {1, 3, 5, 7};
    return __builtin_shuffle(a, b, even) + __builtin_shuffle(a, b, odd);
}
FLR_INLINE flr_v4d sum4x4(const flr_v4d s[4])
{
    return pair_sums4(pair_sums4(s[0], s[1]), pair_sums4(s[2], s[3]));
}
/* tail_keep8[r] (tail_keep4[r]): the last r of 8 (4) lanes all ones (a mask for SFX(tailv));
 * a level uses one of the two. */
__attribute__((unused)) static const int64_t tail_keep8[8][8] = {
    {0, 0, 0, 0, 0, 0, 0, 0},     {0, 0, 0, 0, 0, 0, 0, -1},     {0, 0, 0, 0, 0, 0, -1, -1},
    {0, 0, 0, 0, 0, -1, -1, -1},  {0, 0, 0, 0, -1, -1, -1, -1},  {0, 0, 0, -1, -1, -1, -1, -1},
    {0, 0, -1, -1, -1, -1, -1, -1}, {0, -1, -1, -1, -1, -1, -1, -1}};
__attribute__((unused)) static const int64_t tail_keep4[4][4] = {{0, 0, 0, 0}, {0, 0, 0, -1}, {0, 0, -1, -1}, {0, -1, -1, -1}};
#endif

/* ------------------------------------------------------------------ ISA levels */
enum { FLR_OP_SIGMOID, FLR_OP_LOG_SIGMOID, FLR_OP_LOG_NDTR };

/* The hot row loops of one ISA level, for T = double and T = float data
 * (kernels_rows.h); the kernels in kernels_impl.h call them through the active level. */
/* The fused rows take X, the rows of their chunk, the call's arguments and the chunk's
 * part of the buffer (partial sums and scratch). */
#define FLR_ROWS_COMMON(T, M)                                                                          \
    void (*apply_segment)(int op, const T *x, int64_t xs, double scale, T *out, int64_t os,           \
                          int64_t len);                                                                \
    void (*bce_segment)(const T *z, int64_t zs, const double *y, T *out, int64_t os, int64_t len);     \
    void (*binary_rows)(const M *X, struct flr_chunk ch, const struct flr_args *a,                     \
                        const struct flr_part *p);                                                     \
    void (*softmax_rows)(const M *X, struct flr_chunk ch, const struct flr_args *a,                    \
                         const struct flr_part *p);                                                    \
    void (*logistic_hessp_rows)(const M *X, struct flr_chunk ch, const struct flr_args *a,             \
                                const struct flr_part *p);                                             \
    void (*softmax_hessp_rows)(const M *X, struct flr_chunk ch, const struct flr_args *a,              \
                               const struct flr_part *p);
#if defined(FLR_VECTOR)
#define FLR_ROWS_MEMBERS(T, M)                                                                         \
    FLR_ROWS_COMMON(T, M)                                                                              \
    void (*binary_rows_narrow)(const M *X, struct flr_chunk ch, int64_t safe_end,                      \
                               const struct flr_args *a, const struct flr_part *p);
#else
#define FLR_ROWS_MEMBERS(T, M) FLR_ROWS_COMMON(T, M)
#endif
struct flr_rows_f64 { FLR_ROWS_MEMBERS(double, struct flr_matrix_f64) };
struct flr_rows_f32 { FLR_ROWS_MEMBERS(float, struct flr_matrix_f32) };
struct flr_isa {
    const char *name; /* flr_instruction_set() */
    struct flr_rows_f64 f64;
    struct flr_rows_f32 f32;
};

#define FLR_CAT3_(a, b, c) a##b##c
#define FLR_CAT3(a, b, c) FLR_CAT3_(a, b, c)

/* kernels_isa.h takes FLR_ISA (the name suffix), FLR_ISA_NAME and FLR_VL (lanes per
 * vector: 8 doubles in AVX-512's 32 registers, 4 in AVX2's 16), and defines
 * flr_isa##FLR_ISA. */
#if defined(FLR_DISPATCH)
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
#define FLR_ISA _v4
#define FLR_ISA_NAME "x86-64-v4 (AVX-512)"
#define FLR_VL 8
#include "kernels_isa.h"
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
#define FLR_ISA _v3
#define FLR_ISA_NAME "x86-64-v3 (AVX2+FMA)"
#define FLR_VL 4
#include "kernels_isa.h"
#pragma GCC pop_options

#define FLR_ISA _base
#define FLR_ISA_NAME "baseline (SSE2)"
#define FLR_VL 8
#include "kernels_isa.h"

static const struct flr_isa *flr_active = &flr_isa_base;

/* 4 (x86-64-v4), 3 (x86-64-v3) or 0, from the CPU, capped by FASTLOGREG_C_ISA
 * ("x86-64-v3" or "baseline": to run a lower level's code on this CPU, for tests). */
static int flr_cpu_level(void)
{
    __builtin_cpu_init();
#if __GNUC__ >= 12
    int level = __builtin_cpu_supports("x86-64-v4") ? 4 : __builtin_cpu_supports("x86-64-v3") ? 3 : 0;
#else
    int v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2");
    int v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
             && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    int level = v4 ? 4 : v3 ? 3 : 0;
#endif
    const char *want = getenv("FASTLOGREG_C_ISA");
    if (want != NULL && strcmp(want, "x86-64-v3") == 0 && level > 3) level = 3;
    if (want != NULL && strcmp(want, "baseline") == 0) level = 0;
    return level;
}

__attribute__((constructor)) static void flr_select_isa(void)
{
    int level = flr_cpu_level();
    flr_active = level == 4 ? &flr_isa_v4 : level == 3 ? &flr_isa_v3 : &flr_isa_base;
}
#else
#define FLR_ISA _fixed
#if defined(__AVX512F__)
#define FLR_VL 8
#define FLR_ISA_KIND "AVX-512"
#elif defined(__AVX2__)
#define FLR_VL 4
#define FLR_ISA_KIND "AVX2"
#else
#define FLR_VL 8
#define FLR_ISA_KIND "no AVX2"
#endif
#if defined(FLR_NATIVE)
#define FLR_ISA_NAME "native (" FLR_ISA_KIND ")"
#else
#define FLR_ISA_NAME "fixed at build time (" FLR_ISA_KIND ")"
#endif
#include "kernels_isa.h"
static const struct flr_isa *flr_active = &flr_isa_fixed;
#endif

/* Half-size binary blocks on AMD without AVX-512 (Zen 1-3): see FLR_BLOCK_BYTES. */
#if defined(__x86_64__) || defined(__i386__)
__attribute__((constructor)) static void flr_choose_block_bytes(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_is("amd") && !__builtin_cpu_supports("avx512f"))
        flr_block_bytes = FLR_BLOCK_BYTES_L1_PREFETCH;
}
#endif

const char *flr_instruction_set(void) { return flr_active->name; }

#define ROWS flr_active->f64
#define REAL double
#define MATRIX struct flr_matrix_f64
#define SFX(name) name##_f64
#include "kernels_impl.h"
#undef REAL
#undef MATRIX
#undef SFX
#undef ROWS

#define ROWS flr_active->f32
#define REAL float
#define MATRIX struct flr_matrix_f32
#define SFX(name) name##_f32
#include "kernels_impl.h"
#undef REAL
#undef MATRIX
#undef SFX
#undef ROWS

/* The CSR kernels: compiled once (no ISA levels), for each data type and index type. */
#define REAL double
#define IDX int32_t
#define SFX(name) name##_f64_i32
#include "kernels_csr.h"
#undef IDX
#undef SFX
#define IDX int64_t
#define SFX(name) name##_f64_i64
#include "kernels_csr.h"
#undef REAL
#undef IDX
#undef SFX

#define REAL float
#define IDX int32_t
#define SFX(name) name##_f32_i32
#include "kernels_csr.h"
#undef IDX
#undef SFX
#define IDX int64_t
#define SFX(name) name##_f32_i64
#include "kernels_csr.h"
#undef REAL
#undef IDX
#undef SFX
