/* The CSR kernels (X given as data, indices, indptr), included by fastlogreg_kernels.c
 * once per data type and index type: REAL = double / float, IDX = int32_t / int64_t,
 * SFX(name) = name_f64_i32, name_f64_i64, name_f32_i32, name_f32_i64.  Compiled once, not
 * per ISA level: the gathers and scatters are scalar.  Everything is computed in double.
 *
 * Row i holds the entries indptr[i] <= p < indptr[i + 1] (indptr[0] may be > 0); column
 * indices may be unsorted and repeated (repeats add, as in x_i . w and X^T r).  A chunk
 * takes its rows in blocks: (1) the scores by gathers from the coefficients, (2) the
 * losses and residuals (the dense kernels' pointwise functions), (3) the residuals times
 * the entries scattered into the chunk's gradient, while the block's entries are still
 * in cache (binary kernels from FLR_CSR_INTERLEAVE_MIN_D columns: each chunk's copy of w
 * interleaved with its gradient, one cache line an entry, the lines prefetched ahead of
 * the gathers).  Every sum is taken in row order (the entries of a row in a fixed order), so
 * the results depend neither on the blocks nor on the index type.  Softmax: the
 * coefficients are transposed to (d, C) once per call (a column's C weights contiguous),
 * the chunks accumulate their gradient as (d, C), transposed back in the reduction. */

struct SFX(flr_csr) {
    const REAL *data;
    const IDX *indices, *indptr;
    int64_t rows, cols;
};
#define CSR struct SFX(flr_csr)

/* Prefetch, for writing, the line of column indices[q] of an (d, S) interleaved array
 * (wg + S * indices[q]); a hint only. */
FLR_INLINE void SFX(csr_prefetch_col)(const double *wg, const IDX *idx, int64_t q, const int S)
{
#if defined(__GNUC__)
    __builtin_prefetch(wg + (int64_t)S * idx[q], 1, 3);
#else
    (void)wg, (void)idx, (void)q, (void)S;
#endif
}

/* sum_p data[p] wg[S indices[p]] over [p0, p1): four partial sums (entry p0 + 4m + l into
 * lane l), added as (a0 + a1) + (a2 + a3), then the last p1 - p0 mod 4 entries in order.
 * With pf > 0 (and p1 + pf within the chunk's entries) each entry p also prefetches the
 * line of entry p + pf's column. */
FLR_INLINE double SFX(csr_dot)(const REAL *restrict data, const IDX *restrict idx, int64_t p0, int64_t p1,
                               const double *restrict wg, const int S, int64_t pf)
{
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
    int64_t p = p0;
    if (pf > 0) {
        for (; p + 4 <= p1; p += 4) {
            SFX(csr_prefetch_col)(wg, idx, p + pf, S);
            SFX(csr_prefetch_col)(wg, idx, p + pf + 1, S);
            SFX(csr_prefetch_col)(wg, idx, p + pf + 2, S);
            SFX(csr_prefetch_col)(wg, idx, p + pf + 3, S);
            a0 += (double)data[p] * wg[S * (int64_t)idx[p]];
            a1 += (double)data[p + 1] * wg[S * (int64_t)idx[p + 1]];
            a2 += (double)data[p + 2] * wg[S * (int64_t)idx[p + 2]];
            a3 += (double)data[p + 3] * wg[S * (int64_t)idx[p + 3]];
        }
        for (int64_t q = p; q < p1; q++) SFX(csr_prefetch_col)(wg, idx, q + pf, S);
    } else {
        for (; p + 4 <= p1; p += 4) {
            a0 += (double)data[p] * wg[S * (int64_t)idx[p]];
            a1 += (double)data[p + 1] * wg[S * (int64_t)idx[p + 1]];
            a2 += (double)data[p + 2] * wg[S * (int64_t)idx[p + 2]];
            a3 += (double)data[p + 3] * wg[S * (int64_t)idx[p + 3]];
        }
    }
    double acc = (a0 + a1) + (a2 + a3);
    for (; p < p1; p++) acc += (double)data[p] * wg[S * (int64_t)idx[p]];
    return acc;
}

/* SFX(csr_dot) of w[S j] and of v[S j] in one sweep (the same order for each),
 * prefetching the lines of w as SFX(csr_dot). */
FLR_INLINE void SFX(csr_dot_pair)(const REAL *restrict data, const IDX *restrict idx, int64_t p0, int64_t p1,
                                  const double *restrict w, const double *restrict v, const int S, int64_t pf,
                                  double *xw, double *xv)
{
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, c0 = 0.0, c1 = 0.0, c2 = 0.0, c3 = 0.0;
    int64_t p = p0;
    for (; p + 4 <= p1; p += 4) {
        if (pf > 0) {
            SFX(csr_prefetch_col)(w, idx, p + pf, S);
            SFX(csr_prefetch_col)(w, idx, p + pf + 1, S);
            SFX(csr_prefetch_col)(w, idx, p + pf + 2, S);
            SFX(csr_prefetch_col)(w, idx, p + pf + 3, S);
        }
        double x0 = (double)data[p], x1 = (double)data[p + 1], x2 = (double)data[p + 2], x3 = (double)data[p + 3];
        int64_t j0 = S * (int64_t)idx[p], j1 = S * (int64_t)idx[p + 1];
        int64_t j2 = S * (int64_t)idx[p + 2], j3 = S * (int64_t)idx[p + 3];
        a0 += x0 * w[j0];
        a1 += x1 * w[j1];
        a2 += x2 * w[j2];
        a3 += x3 * w[j3];
        c0 += x0 * v[j0];
        c1 += x1 * v[j1];
        c2 += x2 * v[j2];
        c3 += x3 * v[j3];
    }
    if (pf > 0)
        for (int64_t q = p; q < p1; q++) SFX(csr_prefetch_col)(w, idx, q + pf, S);
    double aw = (a0 + a1) + (a2 + a3), av = (c0 + c1) + (c2 + c3);
    for (; p < p1; p++) {
        double x = (double)data[p];
        int64_t j = S * (int64_t)idx[p];
        aw += x * w[j];
        av += x * v[j];
    }
    *xw = aw;
    *xv = av;
}

/* g[S indices[p]] += r data[p] over [p0, p1), in order (a repeated column adds twice). */
FLR_INLINE void SFX(csr_axpy)(double *restrict g, const int S, double r, const REAL *restrict data,
                              const IDX *restrict idx, int64_t p0, int64_t p1)
{
    for (int64_t p = p0; p < p1; p++) g[S * (int64_t)idx[p]] += r * (double)data[p];
}

/* z_k = sum_p data[p] T[indices[p], k] over [p0, p1) for the K classes of T (row stride
 * C), in entry order; K <= FLR_CSR_GROUP is a constant after inlining, so the K sums
 * stay in registers (a sum in memory would wait for its own store at every entry).
 * With pair: u_k likewise from S. */
FLR_INLINE void SFX(csr_scores_group)(const REAL *restrict data, const IDX *restrict idx, int64_t p0, int64_t p1,
                                      const double *restrict T, const double *restrict S, int64_t C,
                                      double *restrict z, double *restrict u, const int K, const int pair)
{
    double az[FLR_CSR_GROUP] = {0.0}, au[FLR_CSR_GROUP] = {0.0};
    for (int64_t p = p0; p < p1; p++) {
        double x = (double)data[p];
        int64_t o = (int64_t)idx[p] * C;
        for (int k = 0; k < K; k++) az[k] += x * T[o + k];
        if (pair)
            for (int k = 0; k < K; k++) au[k] += x * S[o + k];
    }
    for (int k = 0; k < K; k++) z[k] = az[k];
    if (pair)
        for (int k = 0; k < K; k++) u[k] = au[k];
}

#define FLR_CSR_GROUP_CALL(pair)                                                                \
    switch (K) { /* a constant K per call: the sums stay in registers */                       \
    case 1: SFX(csr_scores_group)(data, idx, p0, p1, Tq, Sq, C, zq, uq, 1, pair); break;       \
    case 2: SFX(csr_scores_group)(data, idx, p0, p1, Tq, Sq, C, zq, uq, 2, pair); break;       \
    case 3: SFX(csr_scores_group)(data, idx, p0, p1, Tq, Sq, C, zq, uq, 3, pair); break;       \
    case 4: SFX(csr_scores_group)(data, idx, p0, p1, Tq, Sq, C, zq, uq, 4, pair); break;       \
    case 5: SFX(csr_scores_group)(data, idx, p0, p1, Tq, Sq, C, zq, uq, 5, pair); break;       \
    case 6: SFX(csr_scores_group)(data, idx, p0, p1, Tq, Sq, C, zq, uq, 6, pair); break;       \
    case 7: SFX(csr_scores_group)(data, idx, p0, p1, Tq, Sq, C, zq, uq, 7, pair); break;       \
    default: SFX(csr_scores_group)(data, idx, p0, p1, Tq, Sq, C, zq, uq, FLR_CSR_GROUP, pair); \
    }

/* z (C) = T^T x + b (and u (C) = S^T x + c when S is not NULL) for the row's entries
 * [p0, p1), T and S (d, C): the classes in groups of at most FLR_CSR_GROUP, as even as
 * possible (C = 10: 5 + 5), each a sweep over the row's entries (SFX(csr_scores_group)). */
FLR_INLINE void SFX(csr_scores)(const REAL *restrict data, const IDX *restrict idx, int64_t p0, int64_t p1,
                                const double *restrict T, const double *restrict b, const double *restrict S,
                                const double *restrict c, int64_t C, double *restrict z, double *restrict u)
{
    int64_t groups = (C + FLR_CSR_GROUP - 1) / FLR_CSR_GROUP;
    for (int64_t q = 0; q < groups; q++) {
        int64_t k0 = C * q / groups, K = C * (q + 1) / groups - k0;
        const double *Tq = T + k0, *Sq = S != NULL ? S + k0 : NULL;
        double *zq = z + k0, *uq = u != NULL ? u + k0 : NULL;
        if (S == NULL) {
            FLR_CSR_GROUP_CALL(0)
        } else {
            FLR_CSR_GROUP_CALL(1)
        }
    }
    for (int64_t k = 0; k < C; k++) z[k] += b[k];
    if (S != NULL)
        for (int64_t k = 0; k < C; k++) u[k] += c[k];
}
#undef FLR_CSR_GROUP_CALL

/* Prefetch the rows (C doubles each) of T, of S when not NULL, and of G (for writing)
 * that the entries [p0, p1) will touch: their first and last lines (the lines between
 * follow by the hardware's adjacent-line prefetch for C <= 16).  A hint only.  With W^T
 * and G out of L2 (d = 100,000, C = 10) it takes the softmax kernel from about 50 to 30
 * ns per entry on one thread (Xeon, 2.8 GHz). */
FLR_INLINE void SFX(csr_prefetch_rows)(const IDX *idx, int64_t p0, int64_t p1, const double *T, const double *S,
                                       const double *G, int64_t C)
{
#if defined(__GNUC__)
    for (int64_t p = p0; p < p1; p++) {
        int64_t o = (int64_t)idx[p] * C;
        __builtin_prefetch(T + o, 0, 3);
        __builtin_prefetch(T + o + C - 1, 0, 3);
        if (S != NULL) {
            __builtin_prefetch(S + o, 0, 3);
            __builtin_prefetch(S + o + C - 1, 0, 3);
        }
        __builtin_prefetch(G + o, 1, 3);
        __builtin_prefetch(G + o + C - 1, 1, 3);
    }
#else
    (void)idx, (void)p0, (void)p1, (void)T, (void)S, (void)G, (void)C;
#endif
}

/* G (d, C): row indices[p], classes [0, K) += data[p] r_k over [p0, p1), in entry order (a
 * repeated column adds twice); K <= FLR_CSR_GROUP constant after inlining, r in registers. */
FLR_INLINE void SFX(csr_scatter_group)(double *restrict G, const double *restrict r, int64_t C,
                                       const REAL *restrict data, const IDX *restrict idx, int64_t p0, int64_t p1,
                                       const int K)
{
    double rk[FLR_CSR_GROUP];
    for (int k = 0; k < K; k++) rk[k] = r[k];
    for (int64_t p = p0; p < p1; p++) {
        double x = (double)data[p];
        double *g = G + (int64_t)idx[p] * C;
        for (int k = 0; k < K; k++) g[k] += rk[k] * x;
    }
}

/* G (d, C): row indices[p] += data[p] r (C) over [p0, p1), the classes in the groups of
 * SFX(csr_scores); every element's sum in entry order. */
FLR_INLINE void SFX(csr_scatter)(double *restrict G, const double *restrict r, int64_t C, const REAL *restrict data,
                                 const IDX *restrict idx, int64_t p0, int64_t p1)
{
    int64_t groups = (C + FLR_CSR_GROUP - 1) / FLR_CSR_GROUP;
    for (int64_t q = 0; q < groups; q++) {
        int64_t k0 = C * q / groups, K = C * (q + 1) / groups - k0;
        double *Gq = G + k0;
        const double *rq = r + k0;
        switch (K) { /* a constant K per call */
        case 1: SFX(csr_scatter_group)(Gq, rq, C, data, idx, p0, p1, 1); break;
        case 2: SFX(csr_scatter_group)(Gq, rq, C, data, idx, p0, p1, 2); break;
        case 3: SFX(csr_scatter_group)(Gq, rq, C, data, idx, p0, p1, 3); break;
        case 4: SFX(csr_scatter_group)(Gq, rq, C, data, idx, p0, p1, 4); break;
        case 5: SFX(csr_scatter_group)(Gq, rq, C, data, idx, p0, p1, 5); break;
        case 6: SFX(csr_scatter_group)(Gq, rq, C, data, idx, p0, p1, 6); break;
        case 7: SFX(csr_scatter_group)(Gq, rq, C, data, idx, p0, p1, 7); break;
        default: SFX(csr_scatter_group)(Gq, rq, C, data, idx, p0, p1, FLR_CSR_GROUP); break;
        }
    }
}

/* Columns from which the binary kernels interleave their coefficients with the chunk's
 * gradient (below, w and the gradient stay in L1 / L2 and the copy would not pay), and
 * entries ahead whose lines their gathers then prefetch. */
#ifndef FLR_CSR_INTERLEAVE_MIN_D
#define FLR_CSR_INTERLEAVE_MIN_D 16384
#endif
#ifndef FLR_CSR_PREFETCH
#define FLR_CSR_PREFETCH 64
#endif

/* The binary kernels' column stride in their chunk buffers: from FLR_CSR_INTERLEAVE_MIN_D
 * columns, each chunk keeps a (d, S) array of its own copy of w (and v) interleaved with
 * its gradient, so that an entry's gather and scatter touch one cache line; below, the
 * chunk's gradient (d) alone. */
static inline int64_t SFX(csr_binary_stride)(int64_t d, int pair)
{
    return d >= FLR_CSR_INTERLEAVE_MIN_D ? (pair ? 4 : 2) : 1;
}

/* The rows of a binary fused kernel, with w at wg[S j] and the gradient at g[S j] (S
 * constant after inlining), prefetching pf entries ahead when pf > 0. */
FLR_INLINE void SFX(csr_binary_body)(const CSR *X, struct flr_chunk ch, const struct flr_args *a,
                                     const struct flr_part *p, const double *wg, double *g, const int S,
                                     int64_t pf)
{
    const REAL *data = X->data;
    const IDX *idx = X->indices, *ptr = X->indptr;
    const double *y = a->y, *sw = a->sw;
    double b = a->b[0];
    double zb[FLR_CSR_BLOCK], lb[FLR_CSR_BLOCK], rb[FLR_CSR_BLOCK];
    double loss = 0.0, grad_b = 0.0;
    int64_t end = ptr[ch.hi];
    for (int64_t i0 = ch.lo; i0 < ch.hi; i0 += FLR_CSR_BLOCK) {
        int64_t nb = ch.hi - i0 < FLR_CSR_BLOCK ? ch.hi - i0 : FLR_CSR_BLOCK;
        for (int64_t k = 0; k < nb; k++) {
            int64_t p0 = ptr[i0 + k], p1 = ptr[i0 + k + 1];
            zb[k] = SFX(csr_dot)(data, idx, p0, p1, wg, S, p1 + pf <= end ? pf : 0) + b;
        }
        block_pointwise(a->link, nb, zb, y + i0, sw != NULL ? sw + i0 : NULL, lb, rb);
        for (int64_t k = 0; k < nb; k++) {
            loss += lb[k];
            grad_b += rb[k];
        }
        for (int64_t k = 0; k < nb; k++) SFX(csr_axpy)(g, S, rb[k], data, idx, ptr[i0 + k], ptr[i0 + k + 1]);
    }
    p->acc[0] = loss;
    p->acc[1] = grad_b;
}

/* Rows of a binary fused kernel into acc[0] (loss), acc[1] (grad_b) and the chunk's
 * gradient p->grad, of column stride SFX(csr_binary_stride)(d, 0): interleaved, w[j] is
 * copied to p->grad[2 j], the gradient is p->grad[2 j + 1]. */
static void SFX(csr_binary_rows)(const CSR *X, struct flr_chunk ch, const struct flr_args *a,
                                 const struct flr_part *p)
{
    int64_t d = X->cols;
    double *restrict g = p->grad;
    if (SFX(csr_binary_stride)(d, 0) == 1) {
        for (int64_t j = 0; j < d; j++) g[j] = 0.0;
        SFX(csr_binary_body)(X, ch, a, p, a->w, g, 1, 0);
    } else {
        for (int64_t j = 0; j < d; j++) {
            g[2 * j] = a->w[j];
            g[2 * j + 1] = 0.0;
        }
        SFX(csr_binary_body)(X, ch, a, p, g, g + 1, 2, FLR_CSR_PREFETCH);
    }
}

/* The rows of the logistic Hessian-vector product, with w at wv[S j], v at vv[S j] and the
 * gradient at g[S j]: h = sw s(z) s(-z) (x . v + v_b), s(z) s(-z) = e / (1 + e)^2 with
 * e = exp(-|z|), as in the dense kernel. */
FLR_INLINE void SFX(csr_logistic_hessp_body)(const CSR *X, struct flr_chunk ch, const struct flr_args *a,
                                             const struct flr_part *p, const double *wv, const double *vv,
                                             double *g, const int S, int64_t pf)
{
    const REAL *data = X->data;
    const IDX *idx = X->indices, *ptr = X->indptr;
    const double *sw = a->sw;
    double b = a->b[0], v_b = a->v_b[0];
    double zb[FLR_CSR_BLOCK], ub[FLR_CSR_BLOCK];
    double acc_b = 0.0;
    int64_t end = ptr[ch.hi];
    for (int64_t i0 = ch.lo; i0 < ch.hi; i0 += FLR_CSR_BLOCK) {
        int64_t nb = ch.hi - i0 < FLR_CSR_BLOCK ? ch.hi - i0 : FLR_CSR_BLOCK;
        for (int64_t k = 0; k < nb; k++) {
            int64_t p0 = ptr[i0 + k], p1 = ptr[i0 + k + 1];
            SFX(csr_dot_pair)(data, idx, p0, p1, wv, vv, S, p1 + pf <= end ? pf : 0, zb + k, ub + k);
        }
        for (int64_t k = 0; k < nb; k++) {
            double e = exp_nonpositive(-fabs(zb[k] + b));
            double h = e / ((1.0 + e) * (1.0 + e));
            ub[k] = (sw != NULL ? h * sw[i0 + k] : h) * (ub[k] + v_b);
        }
        for (int64_t k = 0; k < nb; k++) acc_b += ub[k];
        for (int64_t k = 0; k < nb; k++) SFX(csr_axpy)(g, S, ub[k], data, idx, ptr[i0 + k], ptr[i0 + k + 1]);
    }
    p->acc[0] = acc_b;
}

/* Rows of the logistic Hessian-vector product into acc[0] (its intercept part) and the
 * chunk's gradient p->grad, of column stride SFX(csr_binary_stride)(d, 1): interleaved,
 * p->grad[4 j .. 4 j + 3] = w[j], v[j] (copied), the gradient, a pad. */
static void SFX(csr_logistic_hessp_rows)(const CSR *X, struct flr_chunk ch, const struct flr_args *a,
                                         const struct flr_part *p)
{
    int64_t d = X->cols;
    double *restrict g = p->grad;
    if (SFX(csr_binary_stride)(d, 1) == 1) {
        for (int64_t j = 0; j < d; j++) g[j] = 0.0;
        SFX(csr_logistic_hessp_body)(X, ch, a, p, a->w, a->v, g, 1, 0);
    } else {
        for (int64_t j = 0; j < d; j++) {
            g[4 * j] = a->w[j];
            g[4 * j + 1] = a->v[j];
            g[4 * j + 2] = 0.0;
            g[4 * j + 3] = 0.0;
        }
        SFX(csr_logistic_hessp_body)(X, ch, a, p, g, g + 1, g + 2, 4, FLR_CSR_PREFETCH);
    }
}

/* Rows of softmax_loss_grad into G (d, C) (p->grad), gb (C) and acc[0] (loss), four rows
 * at a time: their scores from the transposed W (a->w, (d, C)) into D, rows_shift_exp and
 * softmax_point (residuals in P = p->R), then gb and the scatter, row by row. */
static void SFX(csr_softmax_rows)(const CSR *X, struct flr_chunk ch, const struct flr_args *a,
                                  const struct flr_part *p)
{
    const REAL *data = X->data;
    const IDX *idx = X->indices, *ptr = X->indptr;
    int64_t C = a->C;
    const double *T = a->w, *b = a->b, *sw = a->sw, *Y = a->Y;
    const int64_t *labels = a->labels;
    double *restrict G = p->grad, *restrict gb = p->grad_b, *D = p->D, *P = p->R;
    double loss = 0.0;
    for (int64_t j = 0; j < C * X->cols; j++) G[j] = 0.0;
    for (int64_t k = 0; k < C; k++) gb[k] = 0.0;
    for (int64_t i0 = ch.lo; i0 < ch.hi; i0 += 4) {
        int nr = ch.hi - i0 < 4 ? (int)(ch.hi - i0) : 4;
        int64_t next = i0 + nr + 4 < ch.hi ? i0 + nr + 4 : ch.hi; /* the next four rows */
        SFX(csr_prefetch_rows)(idx, ptr[i0 + nr], ptr[next], T, NULL, G, C);
        for (int r = 0; r < nr; r++)
            SFX(csr_scores)(data, idx, ptr[i0 + r], ptr[i0 + r + 1], T, b, NULL, NULL, C, D + r * C, NULL);
        double sums[4];
        int64_t am[4];
        rows_shift_exp(D, P, C, nr, sums, am);
        for (int r = 0; r < nr; r++) {
            double *Pr = P + r * C;
            loss += softmax_point(D + r * C, Pr, 1, sums[r], am[r], C, i0 + r, labels, Y, sw);
            for (int64_t k = 0; k < C; k++) gb[k] += Pr[k];
            SFX(csr_scatter)(G, Pr, C, data, idx, ptr[i0 + r], ptr[i0 + r + 1]);
        }
    }
    p->acc[0] = loss;
}

/* Rows of softmax_hessp into G (d, C) and gb (C), four rows at a time as in
 * SFX(csr_softmax_rows): scores of W (a->w) and V (a->v), both transposed to (d, C), into
 * D and U; softmax_hessp_point's residuals into R, then gb and the scatter. */
static void SFX(csr_softmax_hessp_rows)(const CSR *X, struct flr_chunk ch, const struct flr_args *a,
                                        const struct flr_part *p)
{
    const REAL *data = X->data;
    const IDX *idx = X->indices, *ptr = X->indptr;
    int64_t C = a->C;
    const double *T = a->w, *b = a->b, *sw = a->sw, *S = a->v, *v_b = a->v_b;
    double *restrict G = p->grad, *restrict gb = p->grad_b, *D = p->D, *U = p->U, *P = p->P, *R = p->R;
    for (int64_t j = 0; j < C * X->cols; j++) G[j] = 0.0;
    for (int64_t k = 0; k < C; k++) gb[k] = 0.0;
    for (int64_t i0 = ch.lo; i0 < ch.hi; i0 += 4) {
        int nr = ch.hi - i0 < 4 ? (int)(ch.hi - i0) : 4;
        int64_t next = i0 + nr + 4 < ch.hi ? i0 + nr + 4 : ch.hi; /* the next four rows */
        SFX(csr_prefetch_rows)(idx, ptr[i0 + nr], ptr[next], T, S, G, C);
        for (int r = 0; r < nr; r++)
            SFX(csr_scores)(data, idx, ptr[i0 + r], ptr[i0 + r + 1], T, b, S, v_b, C, D + r * C, U + r * C);
        double sums[4];
        int64_t am[4];
        rows_shift_exp(D, P, C, nr, sums, am);
        for (int r = 0; r < nr; r++) {
            double *Rr = R + r * C;
            softmax_hessp_point(U + r * C, P + r * C, Rr, sums[r], C, sw != NULL ? sw[i0 + r] : 1.0);
            for (int64_t k = 0; k < C; k++) gb[k] += Rr[k];
            SFX(csr_scatter)(G, Rr, C, data, idx, ptr[i0 + r], ptr[i0 + r + 1]);
        }
    }
}

/* Run rows on each of the n_threads chunks of X's rows, with the buffer of scratch_layout
 * (kind, d, C), in one parallel region (when `work` is large enough): the softmax kinds
 * first transpose W (and V) into (d, C) scratch (parallel over columns); then the chunks;
 * then grad (d, or (C, d) from the chunks' (d, C)) is the chunk-order sum of the chunks'
 * partials, parallel over columns.  grad_b (C, softmax) and acc (acc_len values) are
 * summed after the region.  A binary chunk's gradient has column stride gs
 * (SFX(csr_binary_stride)), its acc follows. */
static int SFX(csr_run)(int kind,
                        void (*rows)(const CSR *, struct flr_chunk, const struct flr_args *, const struct flr_part *),
                        int64_t gs, const CSR *X, struct flr_args a, int n_threads, double *grad,
                        double *grad_b, double *acc, int64_t acc_len)
{
    int nt = clamp_threads(n_threads);
    int softmax = kind != FLR_FUSED_BINARY, pair = kind == FLR_FUSED_SOFTMAX_HESSP;
    int64_t n = X->rows, d = X->cols, C = softmax ? a.C : 1;
    int64_t nnz = n > 0 ? (int64_t)X->indptr[n] - (int64_t)X->indptr[0] : 0;
    int64_t work = C * (nnz + n + (softmax ? d : 0));
    (void)work; /* without OpenMP */
    struct flr_scratch L = scratch_layout(kind, d, C);
    /* a chunk's gradient: column j at grad + j gs + go (softmax: C classes from go = 0;
     * binary: alone, gs = 1, go = 0; interleaved (w, g), go = 1; (w, v, g, pad), go = 2) */
    int64_t go = softmax ? 0 : gs / 2;
    if (!softmax) {
        L.acc = pad8(gs * d);
        L.stride = L.acc + 8;
    }
    void *raw, *raw_t = NULL;
    double *buf = alloc_aligned(nt * L.stride, &raw), *T = NULL;
    if (buf == NULL) return -1;
    const double *W = a.w, *V = a.v;
    if (softmax) {
        T = alloc_aligned((pair ? 2 : 1) * C * d, &raw_t);
        if (T == NULL) {
            free(raw);
            return -1;
        }
        a.w = T;
        if (pair) a.v = T + C * d;
    }
#pragma omp parallel num_threads(nt) if (go_parallel(work, nt))
    {
        if (softmax) {
#pragma omp for schedule(static)
            for (int64_t j = 0; j < d; j++) {
                for (int64_t k = 0; k < C; k++) T[j * C + k] = W[k * d + j];
                if (pair)
                    for (int64_t k = 0; k < C; k++) T[(d + j) * C + k] = V[k * d + j];
            }
        }
#pragma omp for schedule(static, 1)
        for (int c = 0; c < nt; c++) {
            struct flr_part part = scratch_part(buf, &L, c);
            rows(X, chunk_rows(n, c, nt), &a, &part);
        }
#pragma omp for schedule(static)
        for (int64_t j = 0; j < d; j++) {
            const double *src = buf + L.grad + j * gs + go;
            for (int64_t k = 0; k < C; k++) {
                double s = src[k];
                for (int c = 1; c < nt; c++) s += src[(int64_t)c * L.stride + k];
                grad[k * d + j] = s;
            }
        }
    }
    if (softmax) reduce_chunks(buf + L.grad_b, nt, L.stride, C, grad_b);
    if (acc != NULL) reduce_chunks(buf + L.acc, nt, L.stride, acc_len, acc);
    free(raw);
    free(raw_t);
    return 0;
}

int SFX(flr_logistic_loss_grad_csr)(int64_t n, int64_t d, const REAL *data, const IDX *indices, const IDX *indptr,
                                    const double *y, const double *w, double b, const double *sample_weight,
                                    double *grad_w, double *result, int n_threads)
{
    CSR X = {data, indices, indptr, n, d};
    struct flr_args a = {.link = FLR_LINK_LOGIT, .y = y, .w = w, .b = &b, .sw = sample_weight};
    return SFX(csr_run)(FLR_FUSED_BINARY, SFX(csr_binary_rows), SFX(csr_binary_stride)(d, 0), &X, a, n_threads,
                        grad_w, NULL, result, 2);
}

int SFX(flr_probit_loss_grad_csr)(int64_t n, int64_t d, const REAL *data, const IDX *indices, const IDX *indptr,
                                  const double *y, const double *w, double b, const double *sample_weight,
                                  double *grad_w, double *result, int n_threads)
{
    CSR X = {data, indices, indptr, n, d};
    struct flr_args a = {.link = FLR_LINK_PROBIT, .y = y, .w = w, .b = &b, .sw = sample_weight};
    return SFX(csr_run)(FLR_FUSED_BINARY, SFX(csr_binary_rows), SFX(csr_binary_stride)(d, 0), &X, a, n_threads,
                        grad_w, NULL, result, 2);
}

int SFX(flr_softmax_loss_grad_csr)(int64_t n, int64_t d, int64_t C, const REAL *data, const IDX *indices,
                                   const IDX *indptr, const int64_t *labels, const double *Y, const double *W,
                                   const double *b, const double *sample_weight, double *grad_W, double *grad_b,
                                   double *result, int n_threads)
{
    CSR X = {data, indices, indptr, n, d};
    struct flr_args a = {.C = C, .labels = labels, .Y = Y, .w = W, .b = b, .sw = sample_weight};
    return SFX(csr_run)(FLR_FUSED_SOFTMAX, SFX(csr_softmax_rows), C, &X, a, n_threads, grad_W, grad_b, result, 1);
}

int SFX(flr_logistic_hessp_csr)(int64_t n, int64_t d, const REAL *data, const IDX *indices, const IDX *indptr,
                                const double *w, double b, const double *sample_weight, const double *v, double v_b,
                                double *hv, double *result, int n_threads)
{
    CSR X = {data, indices, indptr, n, d};
    struct flr_args a = {.w = w, .b = &b, .sw = sample_weight, .v = v, .v_b = &v_b};
    return SFX(csr_run)(FLR_FUSED_BINARY, SFX(csr_logistic_hessp_rows), SFX(csr_binary_stride)(d, 1), &X, a,
                        n_threads, hv, NULL, result, 1);
}

int SFX(flr_softmax_hessp_csr)(int64_t n, int64_t d, int64_t C, const REAL *data, const IDX *indices,
                               const IDX *indptr, const double *W, const double *b, const double *sample_weight,
                               const double *V, const double *v_b, double *hv, double *hv_b, int n_threads)
{
    CSR X = {data, indices, indptr, n, d};
    struct flr_args a = {.C = C, .w = W, .b = b, .sw = sample_weight, .v = V, .v_b = v_b};
    return SFX(csr_run)(FLR_FUSED_SOFTMAX_HESSP, SFX(csr_softmax_hessp_rows), C, &X, a, n_threads, hv, hv_b, NULL, 0);
}

#undef CSR
