/* Typed kernels, included by fastlogreg_kernels.c with REAL = double / float and
 * SFX(name) = name##_f64 / name##_f32.  Data (REAL) is read with element strides;
 * everything is computed in double and rounded to REAL only when stored.  The hot row
 * loops are those of the active ISA level (ROWS, see kernels_rows.h). */

/* sum_j u_j v_j in double (both strided rows). */
FLR_INLINE double SFX(dot2)(const REAL *u, int64_t us, const REAL *v, int64_t vs, int64_t d)
{
    if (us == 1 && vs == 1) {
        double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
        int64_t j = 0;
        for (; j + 4 <= d; j += 4) {
            a0 += (double)u[j] * v[j];
            a1 += (double)u[j + 1] * v[j + 1];
            a2 += (double)u[j + 2] * v[j + 2];
            a3 += (double)u[j + 3] * v[j + 3];
        }
        double acc = (a0 + a1) + (a2 + a3);
        for (; j < d; j++) acc += (double)u[j] * v[j];
        return acc;
    }
    double acc = 0.0;
    for (int64_t j = 0; j < d; j++) acc += (double)u[j * us] * v[j * vs];
    return acc;
}

/* Apply op to every element of the (n, d) array; the n*d elements (row-major order) are
 * split into n_threads contiguous ranges, so a single long row is parallel too. */
static int SFX(elementwise)(int op, int64_t n, int64_t d, const REAL *x, int64_t xs0, int64_t xs1,
                            double scale, REAL *out, int64_t os0, int64_t os1, int n_threads)
{
    int nt = clamp_threads(n_threads);
    int64_t total = n * d;
    if (total <= 0) return 0;
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (go_parallel(total, nt))
    for (int c = 0; c < nt; c++) {
        int64_t lo = chunk_start(total, c, nt), hi = chunk_start(total, c + 1, nt);
        int64_t i = lo / d, j = lo % d;
        while (lo < hi) {
            int64_t len = d - j < hi - lo ? d - j : hi - lo;
            ROWS.apply_segment(op, x + i * xs0 + j * xs1, xs1, scale, out + i * os0 + j * os1, os1, len);
            lo += len;
            i++;
            j = 0;
        }
    }
    return 0;
}

int SFX(flr_sigmoid)(int64_t n, int64_t d, const REAL *x, int64_t xs0, int64_t xs1, double scale,
                     REAL *out, int64_t os0, int64_t os1, int n_threads)
{
    return SFX(elementwise)(FLR_OP_SIGMOID, n, d, x, xs0, xs1, scale, out, os0, os1, n_threads);
}

int SFX(flr_log_sigmoid)(int64_t n, int64_t d, const REAL *x, int64_t xs0, int64_t xs1,
                         REAL *out, int64_t os0, int64_t os1, int n_threads)
{
    return SFX(elementwise)(FLR_OP_LOG_SIGMOID, n, d, x, xs0, xs1, 1.0, out, os0, os1, n_threads);
}

int SFX(flr_log_ndtr)(int64_t n, int64_t d, const REAL *x, int64_t xs0, int64_t xs1,
                      REAL *out, int64_t os0, int64_t os1, int n_threads)
{
    return SFX(elementwise)(FLR_OP_LOG_NDTR, n, d, x, xs0, xs1, 1.0, out, os0, os1, n_threads);
}

/* ------------------------------------------------------------------ row-wise */

/* m = max of the row (NaN if any entry is NaN), *am = first argmax; returns
 * log1p(sum_{k != am} exp(shifted(z_k, m))).  When e is not NULL, e_k = exp(shifted(z_k,
 * m)) is kept there (C entries), so that softmax does not compute each exp twice. */
static double SFX(row_stats)(const REAL *z, int64_t s, int64_t C, double *m_out, double *s_out, double *e)
{
    double m = z[0];
    int64_t am = 0;
    int has_nan = isnan(m);
    for (int64_t k = 1; k < C; k++) {
        double zk = z[k * s];
        if (zk > m) { m = zk; am = k; }
        else if (isnan(zk)) has_nan = 1;
    }
    if (has_nan) m = NAN;
    double acc = 0.0;
    for (int64_t k = 0; k < C; k++) {
        double ek = exp(shifted((double)z[k * s], m));
        if (e != NULL) e[k] = ek;
        if (k != am) acc += ek;
    }
    *m_out = m;
    *s_out = acc;
    return log1p(acc);
}

enum { SFX(ROW_LSE), SFX(ROW_SOFTMAX), SFX(ROW_LOG_SOFTMAX) };

static int SFX(rowwise)(int kind, int64_t n, int64_t C, const REAL *Z, int64_t zs0, int64_t zs1,
                        REAL *out, int64_t os0, int64_t os1, int n_threads)
{
    int nt = clamp_threads(n_threads);
    if (n <= 0 || C <= 0) return 0;
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static) if (go_parallel(n * C, nt))
    for (int64_t i = 0; i < n; i++) {
        const REAL *z = Z + i * zs0;
        REAL *o = out + i * os0;
        double m, sum, e[FLR_ROW_EXPS];
        int keep = kind == SFX(ROW_SOFTMAX) && C <= FLR_ROW_EXPS;
        double L = SFX(row_stats)(z, zs1, C, &m, &sum, keep ? e : NULL);
        if (kind == SFX(ROW_LSE)) {
            o[0] = (REAL)(m + L);
        } else if (kind == SFX(ROW_SOFTMAX)) {
            double inv = 1.0 / (1.0 + sum);
            if (keep)
                for (int64_t k = 0; k < C; k++) o[k * os1] = (REAL)(e[k] * inv);
            else
                for (int64_t k = 0; k < C; k++) o[k * os1] = (REAL)(exp(shifted((double)z[k * zs1], m)) * inv);
        } else {
            for (int64_t k = 0; k < C; k++) o[k * os1] = (REAL)(shifted((double)z[k * zs1], m) - L);
        }
    }
    return 0;
}

int SFX(flr_logsumexp)(int64_t n, int64_t C, const REAL *Z, int64_t zs0, int64_t zs1,
                       REAL *out, int64_t os0, int n_threads)
{
    return SFX(rowwise)(SFX(ROW_LSE), n, C, Z, zs0, zs1, out, os0, 0, n_threads);
}

int SFX(flr_softmax)(int64_t n, int64_t C, const REAL *Z, int64_t zs0, int64_t zs1,
                     REAL *out, int64_t os0, int64_t os1, int n_threads)
{
    return SFX(rowwise)(SFX(ROW_SOFTMAX), n, C, Z, zs0, zs1, out, os0, os1, n_threads);
}

int SFX(flr_log_softmax)(int64_t n, int64_t C, const REAL *Z, int64_t zs0, int64_t zs1,
                         REAL *out, int64_t os0, int64_t os1, int n_threads)
{
    return SFX(rowwise)(SFX(ROW_LOG_SOFTMAX), n, C, Z, zs0, zs1, out, os0, os1, n_threads);
}

int SFX(flr_inner)(int64_t n, int64_t d, const REAL *U, int64_t us0, int64_t us1,
                   const REAL *V, int64_t vs0, int64_t vs1, REAL *out, int64_t os0, int n_threads)
{
    int nt = clamp_threads(n_threads);
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static) if (go_parallel(n * d, nt))
    for (int64_t i = 0; i < n; i++)
        out[i * os0] = (REAL)SFX(dot2)(U + i * us0, us1, V + i * vs0, vs1, d);
    return 0;
}

/* max_j |u_j| with NaN propagation (as numpy's max), 0 for an empty row. */
static inline double SFX(abs_max)(const REAL *u, int64_t s, int64_t d)
{
    double m = 0.0;
    for (int64_t j = 0; j < d; j++) {
        double a = fabs((double)u[j * s]);
        if (a > m || isnan(a)) { m = a; if (isnan(a)) break; }
    }
    return m;
}

int SFX(flr_cosine_similarity)(int64_t n, int64_t d, const REAL *U, int64_t us0, int64_t us1,
                               const REAL *V, int64_t vs0, int64_t vs1, REAL *out, int64_t os0, int n_threads)
{
    int nt = clamp_threads(n_threads);
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static) if (go_parallel(n * d, nt))
    for (int64_t i = 0; i < n; i++) {
        const REAL *u = U + i * us0, *v = V + i * vs0;
        /* scale each row by its largest magnitude first so the norms cannot overflow */
        double su = SFX(abs_max)(u, us1, d), sv = SFX(abs_max)(v, vs1, d);
        double cos = 0.0;
        if (!(su == 0.0 || sv == 0.0)) { /* a NaN norm gives NaN */
            double uv = 0.0, uu = 0.0, vv = 0.0;
            for (int64_t j = 0; j < d; j++) {
                double a = (double)u[j * us1] / su, b = (double)v[j * vs1] / sv;
                uv += a * b; uu += a * a; vv += b * b;
            }
            cos = uv / (sqrt(uu) * sqrt(vv));
        }
        out[i * os0] = (REAL)cos;
    }
    return 0;
}

int SFX(flr_binary_cross_entropy)(int64_t n, const REAL *z, int64_t zs, const double *y,
                                  REAL *out, int64_t os, int n_threads)
{
    int nt = clamp_threads(n_threads);
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (go_parallel(n, nt))
    for (int c = 0; c < nt; c++) {
        int64_t lo = chunk_start(n, c, nt), hi = chunk_start(n, c + 1, nt);
        ROWS.bce_segment(z + lo * zs, zs, y + lo, out + lo * os, os, hi - lo);
    }
    return 0;
}

int SFX(flr_cross_entropy)(int64_t n, int64_t C, const REAL *Z, int64_t zs0, int64_t zs1,
                           const int64_t *labels, const double *Y, REAL *out, int64_t os, int n_threads)
{
    int nt = clamp_threads(n_threads);
    if (n <= 0 || C <= 0) return 0;
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static) if (go_parallel(n * C, nt))
    for (int64_t i = 0; i < n; i++) {
        const REAL *z = Z + i * zs0;
        double m, sum;
        double L = SFX(row_stats)(z, zs1, C, &m, &sum, NULL);
        double loss;
        if (labels != NULL) {
            loss = L - shifted((double)z[labels[i] * zs1], m);
        } else {
            const double *yi = Y + i * C;
            loss = 0.0;
            for (int64_t k = 0; k < C; k++)
                if (yi[k] > 0.0) loss += yi[k] * (L - shifted((double)z[k * zs1], m));
        }
        out[i * os] = (REAL)loss;
    }
    return 0;
}


static int SFX(binary_loss_grad)(int link, int64_t n, int64_t d, const REAL *X, int64_t xs0, int64_t xs1,
                                 const double *y, const double *w, double b, const double *sw,
                                 double *grad_w, double *result, int n_threads)
{
    int nt = clamp_threads(n_threads);
    int64_t dp = pad8(d), stride = dp + 8;
    void *raw;
    double *part = alloc_aligned(nt * stride, &raw);
    if (part == NULL) return -1;
#if defined(FLR_VECTOR)
    /* Narrow rows (d <= 16) are read as whole 8-lane vectors: rows below safe_end can be
     * read 8 (d <= 8) or 16 elements from their start without leaving X. */
    int narrow = d >= 1 && d <= 16 && (xs1 == 1 || d == 1) && xs0 >= d;
    int64_t over = (d > 8 ? 16 : 8) - d, safe_end = narrow ? n - (over + xs0 - 1) / xs0 : 0;
#endif
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (go_parallel(n * (d + 1), nt))
    for (int c = 0; c < nt; c++) {
        double *g = part + c * stride;
        int64_t lo = chunk_start(n, c, nt), hi = chunk_start(n, c + 1, nt);
#if defined(FLR_VECTOR)
        if (narrow) {
            ROWS.binary_rows_narrow(link, lo, hi, safe_end, d, X, xs0, y, w, b, sw, g, g + dp);
            continue;
        }
#endif
        ROWS.binary_rows(link, lo, hi, d, X, xs0, xs1, y, w, b, sw, g, g + dp);
    }
    reduce_chunks(part, nt, stride, d, grad_w);
    reduce_chunks(part + dp, nt, stride, 2, result);
    free(raw);
    return 0;
}

int SFX(flr_logistic_loss_grad)(int64_t n, int64_t d, const REAL *X, int64_t xs0, int64_t xs1,
                                const double *y, const double *w, double b, const double *sample_weight,
                                double *grad_w, double *result, int n_threads)
{
    return SFX(binary_loss_grad)(FLR_LINK_LOGIT, n, d, X, xs0, xs1, y, w, b, sample_weight,
                                 grad_w, result, n_threads);
}

int SFX(flr_probit_loss_grad)(int64_t n, int64_t d, const REAL *X, int64_t xs0, int64_t xs1,
                              const double *y, const double *w, double b, const double *sample_weight,
                              double *grad_w, double *result, int n_threads)
{
    return SFX(binary_loss_grad)(FLR_LINK_PROBIT, n, d, X, xs0, xs1, y, w, b, sample_weight,
                                 grad_w, result, n_threads);
}

/* Per-chunk layout: gW (pad8(C*d)), gb (pad8(C)), scratch D (4C), P (FLR_SOFTMAX_ROWS C),
 * loss (8). */
int SFX(flr_softmax_loss_grad)(int64_t n, int64_t d, int64_t C, const REAL *X, int64_t xs0, int64_t xs1,
                               const int64_t *labels, const double *Y, const double *W, const double *b,
                               const double *sw, double *grad_W, double *grad_b, double *result, int n_threads)
{
    int nt = clamp_threads(n_threads);
    int64_t o_gb = pad8(C * d), o_scr = o_gb + pad8(C), o_loss = o_scr + pad8((4 + FLR_SOFTMAX_ROWS) * C);
    int64_t stride = o_loss + 8;
    void *raw;
    double *part = alloc_aligned(nt * stride, &raw);
    if (part == NULL) return -1;
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (go_parallel(n * C * (d + 1), nt))
    for (int c = 0; c < nt; c++) {
        double *gW = part + c * stride;
        ROWS.softmax_rows(chunk_start(n, c, nt), chunk_start(n, c + 1, nt), d, C, X, xs0, xs1, labels, Y,
                          W, b, sw, gW, gW + o_gb, gW + o_scr, gW + o_scr + 4 * C, gW + o_loss);
    }
    reduce_chunks(part, nt, stride, C * d, grad_W);
    reduce_chunks(part + o_gb, nt, stride, C, grad_b);
    reduce_chunks(part + o_loss, nt, stride, 1, result);
    free(raw);
    return 0;
}

int SFX(flr_logistic_hessp)(int64_t n, int64_t d, const REAL *X, int64_t xs0, int64_t xs1,
                            const double *w, double b, const double *sw, const double *v, double v_b,
                            double *hv, double *result, int n_threads)
{
    int nt = clamp_threads(n_threads);
    int64_t dp = pad8(d), stride = dp + 8;
    void *raw;
    double *part = alloc_aligned(nt * stride, &raw);
    if (part == NULL) return -1;
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (go_parallel(n * (d + 1), nt))
    for (int c = 0; c < nt; c++) {
        double *g = part + c * stride;
        ROWS.logistic_hessp_rows(chunk_start(n, c, nt), chunk_start(n, c + 1, nt), d, X, xs0, xs1,
                                 w, b, sw, v, v_b, g, g + dp);
    }
    reduce_chunks(part, nt, stride, d, hv);
    reduce_chunks(part + dp, nt, stride, 1, result);
    free(raw);
    return 0;
}

int SFX(flr_softmax_hessp)(int64_t n, int64_t d, int64_t C, const REAL *X, int64_t xs0, int64_t xs1,
                           const double *W, const double *b, const double *sw, const double *V,
                           const double *v_b, double *hv, double *hv_b, int n_threads)
{
    int nt = clamp_threads(n_threads);
    int64_t o_gb = pad8(C * d), o_scr = o_gb + pad8(C), stride = o_scr + pad8((12 + FLR_SOFTMAX_ROWS) * C);
    void *raw;
    double *part = alloc_aligned(nt * stride, &raw);
    if (part == NULL) return -1;
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (go_parallel(n * C * (d + 1), nt))
    for (int c = 0; c < nt; c++) {
        double *gW = part + c * stride, *D = gW + o_scr;
        ROWS.softmax_hessp_rows(chunk_start(n, c, nt), chunk_start(n, c + 1, nt), d, C, X, xs0, xs1,
                                W, b, sw, V, v_b, gW, gW + o_gb, D, D + 4 * C, D + 8 * C, D + 12 * C);
    }
    reduce_chunks(part, nt, stride, C * d, hv);
    reduce_chunks(part + o_gb, nt, stride, C, hv_b);
    free(raw);
    return 0;
}
