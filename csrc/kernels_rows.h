/* The hot row loops, included by kernels_isa.h once per ISA level and data type: REAL =
 * double / float, SFX(name) = name_f64<level> / name_f32<level>, FLR_VL doubles per vector
 * (flr_vd) and the level's tile shapes.  Data (REAL) is read with element strides;
 * everything is computed in double and rounded to REAL only when stored. */

/* ------------------------------------------------------------------ row helpers */

#if defined(FLR_VECTOR)
/* 8 elements as doubles.  float: GCC 12 splits its own vector conversion into half-width
 * conversions plus shuffles (also for AVX-512, where one vcvtps2pd does it), so the
 * conversion is the intrinsic where the level has it.  Exact either way. */
FLR_INLINE flr_v8d SFX(load8)(const REAL *p)
{
#if !FLR_F32
    return load8_f64(p);
#elif defined(__AVX512F__)
    return (flr_v8d)_mm512_cvtps_pd(_mm256_loadu_ps(p));
#else
    flr_v8f v;
    memcpy(&v, p, sizeof v);
    return __builtin_convertvector(v, flr_v8d);
#endif
}

/* FLR_VL elements as doubles (one vcvtps2pd for float with AVX). */
FLR_INLINE flr_vd SFX(loadv)(const REAL *p)
{
#if FLR_VL == 8
    return SFX(load8)(p);
#elif FLR_F32 && defined(__AVX__)
    return (flr_v4d)_mm256_cvtps_pd(_mm_loadu_ps(p));
#elif FLR_F32
    return (flr_v4d){p[0], p[1], p[2], p[3]};
#else
    return load4_f64(p);
#endif
}

/* SFX(loadv) into a register that the K multiply-adds using it share: left to itself
 * GCC folds a double load into each of them (K loads instead of one, and with rows of
 * 8 mod 16 doubles half of them split across cache lines).  An empty asm on the value
 * keeps it in a register (a whole vector register only: AVX-512 for 8 lanes, AVX for 4).
 * The float loads convert into a register anyway. */
FLR_INLINE flr_vd SFX(loadv_kept)(const REAL *p)
{
    flr_vd v = SFX(loadv)(p);
#if !FLR_F32 && ((FLR_VL == 8 && defined(__AVX512F__)) || (FLR_VL == 4 && defined(__AVX__)))
    __asm__("" : "+v"(v));
#endif
    return v;
}

/* Store a vector of doubles.  The value is a copy: storing from the address of an array
 * element keeps GCC from holding the array (a register tile) in registers. */
FLR_INLINE void SFX(storev)(double *p, flr_vd v) { memcpy(p, &v, sizeof v); }

/* The last FLR_VL elements of a unit-stride row of d >= FLR_VL (x + d - FLR_VL) with the
 * lanes that the vector loop already summed (all but the last d % FLR_VL) zeroed: the
 * row's tail as one vector, added to the lane accumulators. */
FLR_INLINE flr_vd SFX(tailv)(const REAL *x, int64_t d)
{
    flr_vl keep;
    memcpy(&keep, tail_keepv[d & (FLR_VL - 1)], sizeof keep);
    return (flr_vd)((flr_vl)SFX(loadv)(x + d - FLR_VL) & keep);
}

/* The coefficients that meet SFX(tailv)'s vector, masked the same way: a zeroed x lane
 * times an unmasked w lane would be 0 * w, NaN where that coefficient is infinite (it was
 * already multiplied by its own x in the vector loop). */
FLR_INLINE flr_vd SFX(tailw)(const double *w, int64_t d)
{
    flr_vl keep;
    memcpy(&keep, tail_keepv[d & (FLR_VL - 1)], sizeof keep);
    return (flr_vd)((flr_vl)loadv_f64(w + d - FLR_VL) & keep);
}

/* out[r] = sumv(a[r]), r < 4, by the same additions. */
FLR_INLINE void SFX(sumv_x4)(const flr_vd a[4], double *out)
{
#if FLR_VL == 8
    flr_v8d z = sum8x4(a);
#else
    flr_v4d z = sum4x4(a);
#endif
    for (int r = 0; r < 4; r++) out[r] = z[r];
}
#endif

/* sum_j x_j w_j in double.  Unit stride: FLR_VL lane accumulators (lane l sums the
 * j = l mod FLR_VL; with d >= FLR_VL the last d % FLR_VL elements join their lanes through
 * SFX(tailv)), added in the fixed tree of sumv.  The multi-row versions below compute
 * exactly these lanes and trees, so a score does not depend on which of them computed it. */
FLR_INLINE double SFX(dot)(const REAL *restrict x, int64_t s, const double *restrict w, int64_t d)
{
#if defined(FLR_VECTOR)
    if (s == 1 && d >= FLR_VL) {
        flr_vd a = {0.0};
        int64_t j = 0;
        for (; j + FLR_VL <= d; j += FLR_VL) a += SFX(loadv)(x + j) * loadv_f64(w + j);
        if (j < d) a += SFX(tailv)(x, d) * SFX(tailw)(w, d);
        return sumv(a);
    }
#endif
    if (s == 1) {
        double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0;
        int64_t j = 0;
        for (; j + 8 <= d; j += 8) {
            a0 += (double)x[j] * w[j];
            a1 += (double)x[j + 1] * w[j + 1];
            a2 += (double)x[j + 2] * w[j + 2];
            a3 += (double)x[j + 3] * w[j + 3];
            a4 += (double)x[j + 4] * w[j + 4];
            a5 += (double)x[j + 5] * w[j + 5];
            a6 += (double)x[j + 6] * w[j + 6];
            a7 += (double)x[j + 7] * w[j + 7];
        }
        double acc = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
        for (; j < d; j++) acc += (double)x[j] * w[j];
        return acc;
    }
    double acc = 0.0;
    for (int64_t j = 0; j < d; j++) acc += (double)x[j * s] * w[j];
    return acc;
}

/* The dot products of four unit-stride rows (x, x + s, x + 2s, x + 3s) with w: each load
 * of w serves four rows, the lanes of each row stay in registers and the four trees
 * run as one (SFX(sumv_x4)).  Every score is bit-identical to SFX(dot)'s. */
FLR_INLINE void SFX(dot4)(const REAL *restrict x, int64_t s, const double *restrict w, int64_t d,
                          double *out)
{
#if defined(FLR_VECTOR)
    if (d >= FLR_VL) {
        const REAL *x0 = x, *x1 = x + s, *x2 = x + 2 * s, *x3 = x + 3 * s;
        flr_vd a[4] = {{0.0}, {0.0}, {0.0}, {0.0}};
        int64_t j = 0;
        for (; j + FLR_VL <= d; j += FLR_VL) {
            flr_vd wj = loadv_f64(w + j);
            a[0] += SFX(loadv)(x0 + j) * wj;
            a[1] += SFX(loadv)(x1 + j) * wj;
            a[2] += SFX(loadv)(x2 + j) * wj;
            a[3] += SFX(loadv)(x3 + j) * wj;
        }
        if (j < d) {
            flr_vd wt = SFX(tailw)(w, d);
            for (int r = 0; r < 4; r++) a[r] += SFX(tailv)(x + r * s, d) * wt;
        }
        SFX(sumv_x4)(a, out);
        return;
    }
#endif
    for (int r = 0; r < 4; r++) out[r] = SFX(dot)(x + r * s, 1, w, d);
}

/* Scores of four unit-stride rows (stride s) against two weight rows w, v: the eight
 * dot products of SFX(dot4) for w and for v in one sweep, so each row's load serves two
 * classes (0.75 loads per FMA instead of 1.25).  Lanes and trees are SFX(dot)'s. */
FLR_INLINE void SFX(dot4x2)(const REAL *restrict x, int64_t s, const double *restrict w,
                            const double *restrict v, int64_t d, double *out_w, double *out_v)
{
#if defined(FLR_VECTOR)
    if (d >= FLR_VL) {
        const REAL *x0 = x, *x1 = x + s, *x2 = x + 2 * s, *x3 = x + 3 * s;
        flr_vd a[8] = {{0.0}, {0.0}, {0.0}, {0.0}, {0.0}, {0.0}, {0.0}, {0.0}}; /* w: 0-3, v: 4-7 */
        int64_t j = 0;
        for (; j + FLR_VL <= d; j += FLR_VL) {
            flr_vd wj = loadv_f64(w + j), vj = loadv_f64(v + j);
            flr_vd y0 = SFX(loadv_x2)(x0 + j), y1 = SFX(loadv_x2)(x1 + j);
            flr_vd y2 = SFX(loadv_x2)(x2 + j), y3 = SFX(loadv_x2)(x3 + j);
            a[0] += y0 * wj;
            a[4] += y0 * vj;
            a[1] += y1 * wj;
            a[5] += y1 * vj;
            a[2] += y2 * wj;
            a[6] += y2 * vj;
            a[3] += y3 * wj;
            a[7] += y3 * vj;
        }
        if (j < d) {
            flr_vd wt = SFX(tailw)(w, d), vt = SFX(tailw)(v, d);
            for (int r = 0; r < 4; r++) {
                flr_vd yt = SFX(tailv)(x + r * s, d);
                a[r] += yt * wt;
                a[4 + r] += yt * vt;
            }
        }
#if FLR_VL == 8
        flr_v8d z = sum8x8(a);
        for (int r = 0; r < 4; r++) {
            out_w[r] = z[r];
            out_v[r] = z[4 + r];
        }
#else
        SFX(sumv_x4)(a, out_w);
        SFX(sumv_x4)(a + 4, out_v);
#endif
        return;
    }
#endif
    SFX(dot4)(x, s, w, d, out_w);
    SFX(dot4)(x, s, v, d, out_v);
}

#if FLR_SCORE_QUAD
/* Scores of four unit-stride rows (stride s) against four weight rows w + t ws: the
 * sixteen dot products of SFX(dot4) in one sweep, out[r][t] = x_r . w_t (0.5 loads per
 * FMA; 16 accumulators, for levels with 32 vector registers).  Lanes and trees are
 * SFX(dot)'s, so every score is bit-identical to it. */
FLR_INLINE void SFX(dot4x4)(const REAL *restrict x, int64_t s, const double *restrict w, int64_t ws,
                            int64_t d, double out[4][4])
{
    if (d >= FLR_VL) {
        flr_vd a[16]; /* a[4 r + t] = lanes of x_r . w_t, the layout of out */
        for (int q = 0; q < 16; q++) a[q] = (flr_vd){0.0};
        int64_t j = 0;
        for (; j + FLR_VL <= d; j += FLR_VL) {
            flr_vd y[4];
            for (int r = 0; r < 4; r++) y[r] = SFX(loadv)(x + r * s + j);
            for (int t = 0; t < 4; t++) {
                flr_vd wt = loadv_f64(w + t * ws + j);
                for (int r = 0; r < 4; r++) a[4 * r + t] += y[r] * wt;
            }
        }
        if (j < d) {
            flr_vd y[4];
            for (int r = 0; r < 4; r++) y[r] = SFX(tailv)(x + r * s, d);
            for (int t = 0; t < 4; t++) {
                flr_vd wt = SFX(tailw)(w + t * ws, d);
                for (int r = 0; r < 4; r++) a[4 * r + t] += y[r] * wt;
            }
        }
#if FLR_VL == 8
        flr_v8d z0 = sum8x8(a), z1 = sum8x8(a + 8);
        memcpy(&out[0][0], &z0, sizeof z0);
        memcpy(&out[2][0], &z1, sizeof z1);
#else
        for (int r = 0; r < 4; r++) SFX(sumv_x4)(a + 4 * r, out[r]);
#endif
        return;
    }
    for (int t = 0; t < 4; t++) {
        double z4[4];
        SFX(dot4)(x, s, w + t * ws, d, z4);
        for (int r = 0; r < 4; r++) out[r][t] = z4[r];
    }
}
#endif

/* (x . w, x . v): two dot products of SFX(dot) (the same lanes, the same order). */
FLR_INLINE void SFX(dot_pair)(const REAL *restrict x, int64_t s, const double *restrict w,
                              const double *restrict v, int64_t d, double *xw, double *xv)
{
    *xw = SFX(dot)(x, s, w, d);
    *xv = SFX(dot)(x, s, v, d);
}

/* g += r x */
FLR_INLINE void SFX(axpy)(double *restrict g, double r, const REAL *restrict x, int64_t s, int64_t d)
{
    if (s == 1) {
        for (int64_t j = 0; j < d; j++) g[j] += r * (double)x[j];
    } else {
        for (int64_t j = 0; j < d; j++) g[j] += r * (double)x[j * s];
    }
}

/* ------------------------------------------------------------------ elementwise */

/* The sigmoid and log-sigmoid loops use the branch-free exp / log1p (selections only),
 * so the ISA clones vectorize them; NaN propagates through e. */
static void SFX(apply_segment)(int op, const REAL *x, int64_t xs, double scale, REAL *out,
                               int64_t os, int64_t len)
{
    switch (op) {
    case FLR_OP_SIGMOID:
        for (int64_t k = 0; k < len; k++) {
            double z = scale * (double)x[k * xs];
            double e = exp_nonpositive(-fabs(z)), inv = 1.0 / (1.0 + e);
            out[k * os] = (REAL)(z >= 0.0 ? inv : e * inv);
        }
        break;
    case FLR_OP_LOG_SIGMOID:
        for (int64_t k = 0; k < len; k++) {
            double z = (double)x[k * xs];
            double v = -((z < 0.0 ? -z : 0.0) + log1p_unit(exp_nonpositive(-fabs(z))));
            out[k * os] = (REAL)(z == z ? v : z);
        }
        break;
    default:
        for (int64_t k = 0; k < len; k++) out[k * os] = (REAL)log_ndtr_d((double)x[k * xs]);
        break;
    }
}

/* ------------------------------------------------------------------ per-sample losses */
/* Binary cross-entropy of len samples with the branch-free formulas (the loop vectorizes
 * in the ISA clones, as the fused kernels' pointwise part). */
static void SFX(bce_segment)(const REAL *z, int64_t zs, const double *y, REAL *out, int64_t os,
                             int64_t len)
{
    for (int64_t i = 0; i < len; i++) {
        double loss, residual;
        logistic_point_vec((double)z[i * zs], y[i], &loss, &residual);
        out[i * os] = (REAL)loss;
    }
}

/* ------------------------------------------------------------------ fused binary */

/* Rows per block of the binary kernels: about flr_block_bytes of X, a multiple of 8
 * between 8 and FLR_MAX_BLOCK. */
static inline int64_t SFX(binary_block_rows)(int64_t d)
{
    int64_t rows = flr_block_bytes / ((d > 0 ? d : 1) * (int64_t)sizeof(REAL));
    return rows < 8 ? 8 : rows > FLR_MAX_BLOCK ? FLR_MAX_BLOCK : rows & ~(int64_t)7;
}

/* g += sum_k r[k] x_k over the nb rows of the block Xb (row stride xs0, column stride
 * xs1), in row order, so bit-identical to one axpy per row.  Unit-stride rows go 8 per
 * sweep over g (each load and store of g serves 8 rows), prefetching `lines` lines of
 * the next block per sweep; other strides by a column sweep. */
FLR_INLINE void SFX(block_update)(double *restrict g, const double *rb, const REAL *Xb, int64_t xs0,
                                  int64_t xs1, int64_t nb, int64_t d, int unit, const char **pf,
                                  const char *pf_end, int64_t lines)
{
    if (unit) {
        int64_t k = 0;
        for (; k + 8 <= nb; k += 8) {
            const REAL *x0 = Xb + k * xs0, *x1 = x0 + xs0, *x2 = x1 + xs0, *x3 = x2 + xs0,
                       *x4 = x3 + xs0, *x5 = x4 + xs0, *x6 = x5 + xs0, *x7 = x6 + xs0;
            const double *r = rb + k;
            int64_t j = 0;
#if defined(FLR_VECTOR)
            /* the loop below, FLR_VL columns at a time through SFX(loadv) (one conversion
             * instruction per vector of floats): the same additions in the same order */
            for (; j + FLR_VL <= d; j += FLR_VL) {
                flr_vd t = loadv_f64(g + j);
                t += r[0] * SFX(loadv)(x0 + j);
                t += r[1] * SFX(loadv)(x1 + j);
                t += r[2] * SFX(loadv)(x2 + j);
                t += r[3] * SFX(loadv)(x3 + j);
                t += r[4] * SFX(loadv)(x4 + j);
                t += r[5] * SFX(loadv)(x5 + j);
                t += r[6] * SFX(loadv)(x6 + j);
                t += r[7] * SFX(loadv)(x7 + j);
                memcpy(g + j, &t, sizeof t);
            }
#endif
            for (; j < d; j++) {
                double t = g[j];
                t += r[0] * (double)x0[j];
                t += r[1] * (double)x1[j];
                t += r[2] * (double)x2[j];
                t += r[3] * (double)x3[j];
                t += r[4] * (double)x4[j];
                t += r[5] * (double)x5[j];
                t += r[6] * (double)x6[j];
                t += r[7] * (double)x7[j];
                g[j] = t;
            }
            prefetch_lines(pf, pf_end, lines);
        }
        for (; k < nb; k++) SFX(axpy)(g, rb[k], Xb + k * xs0, 1, d);
    } else {
        for (int64_t j = 0; j < d; j++) {
            const REAL *col = Xb + j * xs1;
            double gj = g[j];
            for (int64_t k = 0; k < nb; k++) gj += rb[k] * (double)col[k * xs0];
            g[j] = gj;
        }
    }
}

/* Rows [lo, hi) of a binary fused kernel into g (d) and acc[0] (loss), acc[1] (grad_b).
 * Blocks of about flr_block_bytes of X: (1) the scores z of the block's rows, (2) their
 * losses and residuals in one vectorized loop, (3) g += r_k x_k in row order, 8 rows per
 * sweep over g, while the block is still in L1 -- X is read from memory once.  Other
 * column strides (e.g. Fortran order): the scores by a column sweep over the block.
 * Every sum is taken in row order: the result does not depend on the block size. */
static void SFX(binary_rows)(const MATRIX *Xm, struct flr_chunk ch, const struct flr_args *a,
                             const struct flr_part *p)
{
    const REAL *X = Xm->data;
    int64_t d = Xm->cols, xs0 = Xm->s0, xs1 = Xm->s1, lo = ch.lo, hi = ch.hi;
    int link = a->link;
    const double *y = a->y, *w = a->w, *sw = a->sw;
    double b = a->b[0];
    double *restrict g = p->grad, *acc = p->acc;
    double zb[FLR_MAX_BLOCK], lb[FLR_MAX_BLOCK], rb[FLR_MAX_BLOCK];
    int64_t rows = SFX(binary_block_rows)(d);
    int unit = xs1 == 1 || d <= 1;
    /* Contiguous rows: the next block is prefetched, a third of it during the scores
     * (which stream the current block themselves), the rest during the update; and after
     * each group's scores, the lines two thirds of a block further on (prefetch_span). */
    int contiguous = unit && xs0 == d;
    int64_t row_lines = ((int64_t)sizeof(REAL) * d + 63) / 64;
    const char *pf = (const char *)(X + lo * xs0);
    const REAL *X_end = X + hi * xs0;
    int64_t group_bytes = 4 * xs0 * (int64_t)sizeof(REAL);
    int64_t distance = far_distance(contiguous, xs0 * (int64_t)sizeof(REAL));
    double loss = 0.0, grad_b = 0.0;
    for (int64_t j = 0; j < d; j++) g[j] = 0.0;
    for (int64_t i0 = lo; i0 < hi; i0 += rows) {
        int64_t nb = hi - i0 < rows ? hi - i0 : rows;
        const REAL *Xb = X + i0 * xs0;
        const char *pf_end = next_window((const char *)X, xs0 * (int64_t)sizeof(REAL), contiguous, i0 + nb,
                                         rows, hi, &pf);
        if (unit) {
            int64_t k = 0;
            for (; k + 4 <= nb; k += 4) {
                SFX(dot4)(Xb + k * xs0, xs0, w, d, zb + k);
                prefetch_lines(&pf, pf_end, 4 * row_lines / 3);
                if (distance) prefetch_span(Xb + k * xs0, distance, group_bytes, X_end);
            }
            for (; k < nb; k++) zb[k] = SFX(dot)(Xb + k * xs0, 1, w, d);
            for (k = 0; k < nb; k++) zb[k] += b;
        } else {
            for (int64_t k = 0; k < nb; k++) zb[k] = 0.0;
            for (int64_t j = 0; j < d; j++) {
                const REAL *col = Xb + j * xs1;
                double wj = w[j];
                for (int64_t k = 0; k < nb; k++) zb[k] += (double)col[k * xs0] * wj;
            }
            for (int64_t k = 0; k < nb; k++) zb[k] += b;
        }
        block_pointwise(link, nb, zb, y + i0, sw != NULL ? sw + i0 : NULL, lb, rb);
        for (int64_t k = 0; k < nb; k++) {
            loss += lb[k];
            grad_b += rb[k];
        }
        SFX(block_update)(g, rb, Xb, xs0, xs1, nb, d, unit, &pf, pf_end, 8 * (row_lines - row_lines / 3));
    }
    acc[0] = loss;
    acc[1] = grad_b;
}

#if defined(FLR_VECTOR) && FLR_VL == 8
/* Row x of narrow X as (lo, hi) = (x[0:8], x[8:16]) with the lanes past d zeroed (hi only
 * when `wide`).  A safe row is read whole from X, past its end; any other row is first
 * copied into a zero-padded buffer, so both give the same lanes. */
FLR_INLINE void SFX(narrow_row)(const REAL *x, int safe, int64_t d, const int wide, flr_v8l mlo,
                                flr_v8l mhi, flr_v8d *lo, flr_v8d *hi)
{
    REAL pad[16];
    if (!safe) {
        for (int64_t j = 0; j < 16; j++) pad[j] = j < d ? x[j] : (REAL)0;
        x = pad;
    }
    if (wide) {
        *lo = SFX(load8)(x);
        *hi = (flr_v8d)((flr_v8l)SFX(load8)(x + 8) & mhi);
    } else {
        *lo = (flr_v8d)((flr_v8l)SFX(load8)(x) & mlo);
    }
}

/* SFX(binary_rows) for narrow X (d <= 16, wide = d > 8; unit column stride, row stride
 * xs0 >= d).  A row is one or two 8-lane vectors (SFX(narrow_row)), kept converted to
 * double for its block of FLR_NARROW_BLOCK rows, and the gradient lives in two vector
 * registers for the whole chunk.  Per block: (1) the scores, 8 rows at a time: lanes
 * x_l w_l (+ x_{l+8} w_{l+8}), then the 8 rows' sum8 trees at once (sum8x8); the other
 * rows one by one with the same lanes and tree; (2) losses and residuals
 * (block_pointwise); (3) the loss and grad_b sums in 8 lanes (lane = row - lo mod 8;
 * the rows after the chunk's last full 8 added in row order) and g += r_k x_k in row order.
 * A row is read whole past its end only below `safe_end`, where the read stays inside X. */
FLR_INLINE void SFX(narrow_body)(const MATRIX *Xm, struct flr_chunk ch, int64_t safe_end, const int wide,
                                 const struct flr_args *a, const struct flr_part *p)
{
    const REAL *X = Xm->data;
    int64_t d = Xm->cols, xs0 = Xm->s0, lo = ch.lo, hi = ch.hi;
    int link = a->link;
    const double *y = a->y, *w = a->w, *sw = a->sw;
    double b = a->b[0];
    double *restrict g = p->grad, *acc = p->acc;
    double zb[FLR_NARROW_BLOCK], lb[FLR_NARROW_BLOCK], rb[FLR_NARROW_BLOCK], wpad[16];
    flr_v8d xb[FLR_NARROW_BLOCK][2];
    flr_v8l mlo, mhi;
    for (int64_t j = 0; j < 16; j++) wpad[j] = j < d ? w[j] : 0.0;
    for (int l = 0; l < 8; l++) {
        mlo[l] = l < d ? -1 : 0;
        mhi[l] = l + 8 < d ? -1 : 0;
    }
    flr_v8d wlo = load8_f64(wpad), whi = load8_f64(wpad + 8), glo = {0.0}, ghi = {0.0};
    flr_v8d lossv = {0.0}, gbv = {0.0};
    double loss_tail = 0.0, gb_tail = 0.0;
    /* Contiguous rows: the next block is prefetched while this one is scored. */
    int64_t group_lines = (8 * d * (int64_t)sizeof(REAL) + 63) / 64;
    const char *pf = (const char *)(X + lo * xs0);
    for (int64_t i0 = lo; i0 < hi; i0 += FLR_NARROW_BLOCK) {
        int64_t nb = hi - i0 < FLR_NARROW_BLOCK ? hi - i0 : FLR_NARROW_BLOCK;
        const REAL *Xb = X + i0 * xs0;
        const char *pf_end = next_window((const char *)X, xs0 * (int64_t)sizeof(REAL), xs0 == d, i0 + nb,
                                         FLR_NARROW_BLOCK, hi, &pf);
        int64_t k = 0;
        for (; k + 8 <= nb && i0 + k + 8 <= safe_end; k += 8) {
            flr_v8d s[8];
            for (int r = 0; r < 8; r++) {
                SFX(narrow_row)(Xb + (k + r) * xs0, 1, d, wide, mlo, mhi, &xb[k + r][0], &xb[k + r][1]);
                s[r] = xb[k + r][0] * wlo;
                if (wide) s[r] += xb[k + r][1] * whi;
            }
            flr_v8d z = sum8x8(s) + b;
            memcpy(zb + k, &z, sizeof z);
            prefetch_lines(&pf, pf_end, group_lines);
        }
        for (; k < nb; k++) {
            SFX(narrow_row)(Xb + k * xs0, i0 + k < safe_end, d, wide, mlo, mhi, &xb[k][0], &xb[k][1]);
            flr_v8d s = xb[k][0] * wlo;
            if (wide) s += xb[k][1] * whi;
            zb[k] = sum8(s) + b;
        }
        block_pointwise(link, nb, zb, y + i0, sw != NULL ? sw + i0 : NULL, lb, rb);
        for (k = 0; k + 8 <= nb; k += 8) {
            lossv += load8_f64(lb + k);
            gbv += load8_f64(rb + k);
        }
        for (; k < nb; k++) {
            loss_tail += lb[k];
            gb_tail += rb[k];
        }
        for (k = 0; k < nb; k++) {
            glo += rb[k] * xb[k][0];
            if (wide) ghi += rb[k] * xb[k][1];
        }
    }
    double gpad[16];
    memcpy(gpad, &glo, sizeof glo);
    memcpy(gpad + 8, &ghi, sizeof ghi);
    for (int64_t j = 0; j < d; j++) g[j] = gpad[j];
    acc[0] = sum8(lossv) + loss_tail;
    acc[1] = sum8(gbv) + gb_tail;
}

static void SFX(binary_rows_narrow)(const MATRIX *X, struct flr_chunk ch, int64_t safe_end,
                                    const struct flr_args *a, const struct flr_part *p)
{
    if (X->cols > 8) SFX(narrow_body)(X, ch, safe_end, 1, a, p);
    else SFX(narrow_body)(X, ch, safe_end, 0, a, p);
}
#elif defined(FLR_VECTOR)
/* Narrow X on levels with 4-lane vectors: the blocks of SFX(binary_rows), whose 4-lane
 * dot products already cover a row in one to four vectors (the 8-lane narrow body above
 * is split into register pairs there, which GCC keeps on the stack: 4-5x slower). */
static void SFX(binary_rows_narrow)(const MATRIX *X, struct flr_chunk ch, int64_t safe_end,
                                    const struct flr_args *a, const struct flr_part *p)
{
    (void)safe_end;
    SFX(binary_rows)(X, ch, a, p);
}
#endif
/* ------------------------------------------------------------------ fused softmax */
#if defined(FLR_VECTOR)
/* gW rows t < K (stride gs), columns [j, j + FLR_VL U): += sum_r R[r][t] x_r over the
 * rows r < nr of the block (x_r = x + r s), in row order.  The K x U vector tile stays in
 * registers for the whole block and is loaded and stored once; each row's U vectors of x
 * serve K classes.  With U == 1 the x vector is masked by keep (the d % FLR_VL tail: there
 * the tile is gW's last FLR_VL columns, of which the lanes already done get + R x 0, which
 * leaves them unchanged: gW starts at +0.0 and so never holds -0.0). */
FLR_INLINE void SFX(update_tile)(double *restrict gW, int64_t gs, const double *restrict R, int64_t rr,
                                 int64_t rk, int64_t nr, const REAL *restrict x, int64_t s, int64_t j,
                                 const int K, const int U, flr_vl keep)
{
    flr_vd acc[8][4];
    for (int t = 0; t < K; t++)
        for (int u = 0; u < U; u++) acc[t][u] = loadv_f64(gW + t * gs + j + FLR_VL * u);
    for (int64_t r = 0; r < nr; r++) {
        flr_vd y[4];
        for (int u = 0; u < U; u++) y[u] = SFX(loadv_kept)(x + r * s + j + FLR_VL * u);
        if (U == 1) y[0] = (flr_vd)((flr_vl)y[0] & keep);
        for (int t = 0; t < K; t++) {
            double q = R[r * rr + t * rk];
            for (int u = 0; u < U; u++) acc[t][u] += q * y[u];
        }
    }
    for (int t = 0; t < K; t++)
        for (int u = 0; u < U; u++) SFX(storev)(gW + t * gs + j + FLR_VL * u, acc[t][u]);
}

/* SFX(update_tile) over all of a class group's d columns (d >= FLR_VL): tiles of
 * FLR_TILE_U(K) column vectors, then single vectors, then the masked tail. */
FLR_INLINE void SFX(update_classes)(double *restrict gW, int64_t gs, const double *restrict R, int64_t rr,
                                    int64_t rk, int64_t nr, const REAL *restrict x, int64_t s, int64_t d,
                                    const int K)
{
    const int U = FLR_TILE_U(K);
    flr_vl all;
    memset(&all, 0xff, sizeof all);
    int64_t j = 0, full = d & ~(int64_t)(FLR_VL - 1);
    for (; j + FLR_VL * U <= full; j += FLR_VL * U) SFX(update_tile)(gW, gs, R, rr, rk, nr, x, s, j, K, U, all);
    for (; j < full; j += FLR_VL) SFX(update_tile)(gW, gs, R, rr, rk, nr, x, s, j, K, 1, all);
    if (d & (FLR_VL - 1)) {
        flr_vl keep;
        memcpy(&keep, tail_keepv[d & (FLR_VL - 1)], sizeof keep);
        SFX(update_tile)(gW, gs, R, rr, rk, nr, x, s, d - FLR_VL, K, 1, keep);
    }
}
#endif

/* A block's residuals R (nr x C, row-major) into the gradient: gb[k] += sum_r R[r][k] and
 * gW_k += sum_r R[r][k] x_r for the unit-stride rows x_r = x + r s, every sum in row order
 * (bit-identical to row-at-a-time updates, whatever nr).  The classes go in groups of at
 * most FLR_GROUP, as even as possible (C = 10: 5 + 5), each through register tiles of gW
 * (SFX(update_classes)). */
FLR_INLINE void SFX(add_residuals)(double *restrict gW, double *restrict gb, const double *R, int64_t rr,
                                   int64_t rk, int64_t C, int64_t nr, const REAL *restrict x, int64_t s,
                                   int64_t d)
{
    for (int64_t k = 0; k < C; k++) {
        double t = gb[k];
        for (int64_t r = 0; r < nr; r++) t += R[r * rr + k * rk];
        gb[k] = t;
    }
#if defined(FLR_VECTOR)
    if (d >= FLR_VL) {
        int64_t groups = (C + FLR_GROUP - 1) / FLR_GROUP;
        for (int64_t q = 0; q < groups; q++) {
            int64_t k0 = C * q / groups, K = C * (q + 1) / groups - k0;
            double *g = gW + k0 * d;
            const double *Rq = R + k0 * rk;
            switch (K) { /* a constant K per call: the tiles stay in registers */
            case 1: SFX(update_classes)(g, d, Rq, rr, rk, nr, x, s, d, 1); break;
            case 2: SFX(update_classes)(g, d, Rq, rr, rk, nr, x, s, d, 2); break;
            case 3: SFX(update_classes)(g, d, Rq, rr, rk, nr, x, s, d, 3); break;
#if FLR_GROUP > 4
            case 4: SFX(update_classes)(g, d, Rq, rr, rk, nr, x, s, d, 4); break;
#endif
#if FLR_GROUP > 5
            case 5: SFX(update_classes)(g, d, Rq, rr, rk, nr, x, s, d, 5); break;
            case 6: SFX(update_classes)(g, d, Rq, rr, rk, nr, x, s, d, 6); break;
            case 7: SFX(update_classes)(g, d, Rq, rr, rk, nr, x, s, d, 7); break;
#endif
            default: SFX(update_classes)(g, d, Rq, rr, rk, nr, x, s, d, FLR_GROUP); break;
            }
        }
        return;
    }
#endif
    for (int64_t k = 0; k < C; k++)
        for (int64_t j = 0; j < d; j++) {
            double t = gW[k * d + j];
            for (int64_t r = 0; r < nr; r++) t += R[r * rr + k * rk] * (double)x[r * s + j];
            gW[k * d + j] = t;
        }
}

/* Rows [lo, hi) into gW (C, d), gb (C) and *loss (p->grad, grad_b, acc); D and P (p->R)
 * hold FLR_SOFTMAX_ROWS rows of C, class-major (class k of block row r at
 * k FLR_SOFTMAX_ROWS + r).  Unit-stride rows go in blocks of up to FLR_SOFTMAX_ROWS (a
 * multiple of 4): the scores four rows at a time and four classes at a time where the
 * level has 32 registers (FLR_SCORE_QUAD), then pairs, then one (SFX(dot4x4) shares each
 * load of a row between four classes and each load of W_k between four rows), then the
 * block's losses and residuals, vectorized over its rows (block_softmax_point), and the
 * residuals into the gradient together (SFX(add_residuals)).  Every sum keeps the
 * row-at-a-time order (the dot products take SFX(dot)'s lanes and trees, the updates are
 * applied in row order, block_softmax_point takes the steps of rows_shift_exp and
 * softmax_point for each row), so the grouping changes a result at most where the
 * compiler fuses a multiply and an add differently. */
static void SFX(softmax_rows)(const MATRIX *Xm, struct flr_chunk ch, const struct flr_args *a,
                              const struct flr_part *p)
{
    enum { NB = FLR_SOFTMAX_ROWS };
    const REAL *X = Xm->data;
    int64_t d = Xm->cols, xs0 = Xm->s0, xs1 = Xm->s1, lo = ch.lo, hi = ch.hi, C = a->C;
    const int64_t *labels = a->labels;
    const double *Y = a->Y, *W = a->w, *b = a->b, *sw = a->sw;
    double *restrict gW = p->grad, *restrict gb = p->grad_b, *D = p->D, *P = p->R, *loss_out = p->acc;
    double loss = 0.0;
    for (int64_t j = 0; j < C * d; j++) gW[j] = 0.0;
    for (int64_t k = 0; k < C; k++) gb[k] = 0.0;
    int64_t i = lo;
    if (xs1 == 1 || d <= 1) {
        /* contiguous rows: the next four rows are prefetched while these are computed */
        int contiguous = xs0 == d;
        const char *pf = (const char *)(X + lo * xs0);
        int64_t group_lines = (4 * (int64_t)sizeof(REAL) * d + 63) / 64;
        int64_t rows = softmax_block_rows(d, sizeof(REAL));
        for (int64_t nb; (nb = softmax_block(hi - i, rows)) > 0; i += nb) {
            for (int64_t q = 0; q < nb; q += 4) {
                const REAL *x0 = X + (i + q) * xs0;
                double *Dq = D + q;
                const char *pf_end = next_window((const char *)X, xs0 * (int64_t)sizeof(REAL), contiguous,
                                                 i + q + 4, 4, hi, &pf);
                prefetch_lines(&pf, pf_end, group_lines);
                double z4[4];
                int64_t k = 0;
#if FLR_SCORE_QUAD
                for (; k + 4 <= C; k += 4) {
                    double z44[4][4];
                    SFX(dot4x4)(x0, xs0, W + k * d, d, d, z44);
                    for (int t = 0; t < 4; t++)
                        for (int r = 0; r < 4; r++) Dq[(k + t) * NB + r] = z44[r][t] + b[k + t];
                }
#endif
                for (; k + 2 <= C; k += 2) {
                    double z4b[4];
                    SFX(dot4x2)(x0, xs0, W + k * d, W + (k + 1) * d, d, z4, z4b);
                    for (int r = 0; r < 4; r++) {
                        Dq[k * NB + r] = z4[r] + b[k];
                        Dq[(k + 1) * NB + r] = z4b[r] + b[k + 1];
                    }
                }
                for (; k < C; k++) {
                    SFX(dot4)(x0, xs0, W + k * d, d, z4);
                    for (int r = 0; r < 4; r++) Dq[k * NB + r] = z4[r] + b[k];
                }
            }
            double point[NB];
            block_softmax_point(D, P, C, nb, i, labels, Y, sw, point);
            for (int64_t r = 0; r < nb; r++) loss += point[r];
            SFX(add_residuals)(gW, gb, P, 1, NB, C, nb, X + i * xs0, xs0, d);
        }
    }
    for (; i < hi; i++) {
        const REAL *xi = X + i * xs0;
        for (int64_t k = 0; k < C; k++) D[k] = SFX(dot)(xi, xs1, W + k * d, d) + b[k];
        double sum;
        int64_t am;
        rows_shift_exp(D, P, C, 1, &sum, &am);
        loss += softmax_point(D, P, 1, sum, am, C, i, labels, Y, sw);
        for (int64_t k = 0; k < C; k++) {
            gb[k] += P[k];
            SFX(axpy)(gW + k * d, P[k], xi, xs1, d);
        }
    }
    *loss_out = loss;
}

/* ------------------------------------------------------------------ Hessian-vector */
/* Rows [lo, hi) of the logistic Hessian-vector product into g (d) and *acc_out (the
 * intercept's part), in the blocks of binary_rows: (1) the scores x.w and x.v of the
 * block's rows in one sweep (dot4x2), (2) the weights h = s(z) s(-z) = e / (1 + e)^2,
 * e = exp(-|z|) (exact in the tails), times x.v + v_b, in a loop that vectorizes,
 * (3) g += (h u)_k x_k in row order while the block is in L1. */
static void SFX(logistic_hessp_rows)(const MATRIX *Xm, struct flr_chunk ch, const struct flr_args *a,
                                     const struct flr_part *p)
{
    const REAL *X = Xm->data;
    int64_t d = Xm->cols, xs0 = Xm->s0, xs1 = Xm->s1, lo = ch.lo, hi = ch.hi;
    const double *w = a->w, *sw = a->sw, *v = a->v;
    double b = a->b[0], v_b = a->v_b[0];
    double *restrict g = p->grad, *acc_out = p->acc;
    double zb[FLR_MAX_BLOCK], ub[FLR_MAX_BLOCK];
    int64_t rows = SFX(binary_block_rows)(d);
    int unit = xs1 == 1 || d <= 1;
    int contiguous = unit && xs0 == d;
    int64_t row_lines = ((int64_t)sizeof(REAL) * d + 63) / 64;
    const char *pf = (const char *)(X + lo * xs0);
    const REAL *X_end = X + hi * xs0;
    int64_t group_bytes = 4 * xs0 * (int64_t)sizeof(REAL);
    int64_t distance = far_distance(contiguous, xs0 * (int64_t)sizeof(REAL));
    double acc_b = 0.0;
    for (int64_t j = 0; j < d; j++) g[j] = 0.0;
    for (int64_t i0 = lo; i0 < hi; i0 += rows) {
        int64_t nb = hi - i0 < rows ? hi - i0 : rows;
        const REAL *Xb = X + i0 * xs0;
        const char *pf_end = next_window((const char *)X, xs0 * (int64_t)sizeof(REAL), contiguous, i0 + nb,
                                         rows, hi, &pf);
        int64_t k = 0;
        if (unit) {
            for (; k + 4 <= nb; k += 4) {
                SFX(dot4x2)(Xb + k * xs0, xs0, w, v, d, zb + k, ub + k);
                prefetch_lines(&pf, pf_end, 4 * row_lines / 3);
                if (distance) prefetch_span(Xb + k * xs0, distance, group_bytes, X_end);
            }
        }
        for (; k < nb; k++) SFX(dot_pair)(Xb + k * xs0, xs1, w, v, d, zb + k, ub + k);
        for (k = 0; k < nb; k++) {
            double e = exp_nonpositive(-fabs(zb[k] + b));
            double h = e / ((1.0 + e) * (1.0 + e));
            ub[k] = (sw != NULL ? h * sw[i0 + k] : h) * (ub[k] + v_b);
        }
        for (k = 0; k < nb; k++) acc_b += ub[k];
        SFX(block_update)(g, ub, Xb, xs0, xs1, nb, d, unit, &pf, pf_end, 8 * (row_lines - row_lines / 3));
    }
    *acc_out = acc_b;
}

/* Rows [lo, hi) of H v into gW (C, d) and gb (C) (p->grad, grad_b); D, U, P are 4C-sized scratch, R holds
 * FLR_SOFTMAX_ROWS rows of C.  Unit-stride rows go in blocks as in SFX(softmax_rows):
 * the scores of W_k and V_k of four rows in one sweep (SFX(dot4x2)), the block's
 * residuals into the gradient together (SFX(add_residuals)); the same sums in the same
 * order as one row at a time. */
static void SFX(softmax_hessp_rows)(const MATRIX *Xm, struct flr_chunk ch, const struct flr_args *a,
                                    const struct flr_part *p)
{
    const REAL *X = Xm->data;
    int64_t d = Xm->cols, xs0 = Xm->s0, xs1 = Xm->s1, lo = ch.lo, hi = ch.hi, C = a->C;
    const double *W = a->w, *b = a->b, *sw = a->sw, *V = a->v, *v_b = a->v_b;
    double *restrict gW = p->grad, *restrict gb = p->grad_b, *D = p->D, *U = p->U, *P = p->P, *R = p->R;
    for (int64_t j = 0; j < C * d; j++) gW[j] = 0.0;
    for (int64_t k = 0; k < C; k++) gb[k] = 0.0;
    int64_t i = lo;
    if (xs1 == 1 || d <= 1) {
        int64_t rows = softmax_block_rows(d, sizeof(REAL));
        for (int64_t nb; (nb = softmax_block(hi - i, rows)) > 0; i += nb) {
            for (int64_t q = 0; q < nb; q += 4) {
                const REAL *x0 = X + (i + q) * xs0;
                for (int64_t k = 0; k < C; k++) {
                    double z4[4], u4[4];
                    SFX(dot4x2)(x0, xs0, W + k * d, V + k * d, d, z4, u4);
                    for (int r = 0; r < 4; r++) {
                        D[r * C + k] = z4[r] + b[k];
                        U[r * C + k] = u4[r] + v_b[k];
                    }
                }
                double sums[4];
                int64_t am[4];
                rows_shift_exp(D, P, C, 4, sums, am);
                for (int r = 0; r < 4; r++)
                    softmax_hessp_point(U + r * C, P + r * C, R + (q + r) * C, sums[r], C,
                                             sw != NULL ? sw[i + q + r] : 1.0);
            }
            SFX(add_residuals)(gW, gb, R, C, 1, C, nb, X + i * xs0, xs0, d);
        }
    }
    for (; i < hi; i++) {
        const REAL *xi = X + i * xs0;
        for (int64_t k = 0; k < C; k++) {
            double z, u;
            SFX(dot_pair)(xi, xs1, W + k * d, V + k * d, d, &z, &u);
            D[k] = z + b[k];
            U[k] = u + v_b[k];
        }
        double sum;
        int64_t am;
        rows_shift_exp(D, P, C, 1, &sum, &am);
        softmax_hessp_point(U, P, R, sum, C, sw != NULL ? sw[i] : 1.0);
        for (int64_t k = 0; k < C; k++) {
            gb[k] += R[k];
            SFX(axpy)(gW + k * d, R[k], xi, xs1, d);
        }
    }
}

