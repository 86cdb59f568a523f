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
static int SFX(elementwise)(int op, const MATRIX *xm, double scale, REAL *out, int64_t os0, int64_t os1,
                            int n_threads)
{
    const REAL *x = xm->data;
    int64_t n = xm->rows, d = xm->cols, xs0 = xm->s0, xs1 = xm->s1;
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
    MATRIX xm = {x, n, d, xs0, xs1};
    return SFX(elementwise)(FLR_OP_SIGMOID, &xm, scale, out, os0, os1, n_threads);
}

int SFX(flr_log_sigmoid)(int64_t n, int64_t d, const REAL *x, int64_t xs0, int64_t xs1,
                         REAL *out, int64_t os0, int64_t os1, int n_threads)
{
    MATRIX xm = {x, n, d, xs0, xs1};
    return SFX(elementwise)(FLR_OP_LOG_SIGMOID, &xm, 1.0, out, os0, os1, n_threads);
}

int SFX(flr_log_ndtr)(int64_t n, int64_t d, const REAL *x, int64_t xs0, int64_t xs1,
                      REAL *out, int64_t os0, int64_t os1, int n_threads)
{
    MATRIX xm = {x, n, d, xs0, xs1};
    return SFX(elementwise)(FLR_OP_LOG_NDTR, &xm, 1.0, out, os0, os1, n_threads);
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


/* Run rows(X, chunk, args, part) on each of the n_threads chunks of X's rows (in parallel
 * when `work` is large enough) and sum the chunks' partials into the outputs. */
static int SFX(run_fused)(void (*rows)(const MATRIX *, struct flr_chunk, const struct flr_args *,
                                       const struct flr_part *),
                          const MATRIX *X, const struct flr_args *args, const struct flr_scratch *L,
                          int64_t work, int n_threads, const struct flr_outputs *o)
{
    int nt = clamp_threads(n_threads);
    void *raw;
    double *buf = alloc_aligned(nt * L->stride, &raw);
    if (buf == NULL) return -1;
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (go_parallel(work, nt))
    for (int c = 0; c < nt; c++) {
        struct flr_part part = scratch_part(buf, L, c);
        rows(X, chunk_rows(X->rows, c, nt), args, &part);
    }
    for (int k = 0; k < o->count; k++) reduce_chunks(buf + o->offset[k], nt, L->stride, o->len[k], o->out[k]);
    free(raw);
    return 0;
}

static int SFX(binary_loss_grad)(int link, const MATRIX *X, const double *y, const double *w, double b,
                                 const double *sw, double *grad_w, double *result, int n_threads)
{
    int nt = clamp_threads(n_threads);
    int64_t n = X->rows, d = X->cols, xs0 = X->s0, xs1 = X->s1;
    struct flr_scratch L = scratch_layout(FLR_FUSED_BINARY, d, 1);
    struct flr_args a = {.link = link, .y = y, .w = w, .b = &b, .sw = sw};
    void *raw;
    double *part = alloc_aligned(nt * L.stride, &raw);
    if (part == NULL) return -1;
#if defined(FLR_VECTOR)
    /* Narrow rows (d <= 16) are read as whole 8-lane vectors: rows below safe_end can be
     * read 8 (d <= 8) or 16 elements from their start without leaving X. */
    int narrow = d >= 1 && d <= 16 && (xs1 == 1 || d == 1) && xs0 >= d;
    int64_t over = (d > 8 ? 16 : 8) - d, safe_end = narrow ? n - (over + xs0 - 1) / xs0 : 0;
#endif
    (void)xs1;
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (go_parallel(n * (d + 1), nt))
    for (int c = 0; c < nt; c++) {
        struct flr_part p = scratch_part(part, &L, c);
        struct flr_chunk ch = chunk_rows(n, c, nt);
#if defined(FLR_VECTOR)
        if (narrow) {
            ROWS.binary_rows_narrow(X, ch, safe_end, &a, &p);
            continue;
        }
#endif
        ROWS.binary_rows(X, ch, &a, &p);
    }
    reduce_chunks(part + L.grad, nt, L.stride, d, grad_w);
    reduce_chunks(part + L.acc, nt, L.stride, 2, result);
    free(raw);
    return 0;
}

int SFX(flr_logistic_loss_grad)(int64_t n, int64_t d, const REAL *X, int64_t xs0, int64_t xs1,
                                const double *y, const double *w, double b, const double *sample_weight,
                                double *grad_w, double *result, int n_threads)
{
    MATRIX Xm = {X, n, d, xs0, xs1};
    return SFX(binary_loss_grad)(FLR_LINK_LOGIT, &Xm, y, w, b, sample_weight, grad_w, result, n_threads);
}

int SFX(flr_probit_loss_grad)(int64_t n, int64_t d, const REAL *X, int64_t xs0, int64_t xs1,
                              const double *y, const double *w, double b, const double *sample_weight,
                              double *grad_w, double *result, int n_threads)
{
    MATRIX Xm = {X, n, d, xs0, xs1};
    return SFX(binary_loss_grad)(FLR_LINK_PROBIT, &Xm, y, w, b, sample_weight, grad_w, result, n_threads);
}

int SFX(flr_softmax_loss_grad)(int64_t n, int64_t d, int64_t C, const REAL *X, int64_t xs0, int64_t xs1,
                               const int64_t *labels, const double *Y, const double *W, const double *b,
                               const double *sw, double *grad_W, double *grad_b, double *result, int n_threads)
{
    MATRIX Xm = {X, n, d, xs0, xs1};
    struct flr_scratch L = scratch_layout(FLR_FUSED_SOFTMAX, d, C);
    struct flr_args a = {.C = C, .labels = labels, .Y = Y, .w = W, .b = b, .sw = sw};
    struct flr_outputs o = {3, {grad_W, grad_b, result}, {L.grad, L.grad_b, L.acc}, {C * d, C, 1}};
    return SFX(run_fused)(ROWS.softmax_rows, &Xm, &a, &L, n * C * (d + 1), n_threads, &o);
}

int SFX(flr_logistic_hessp)(int64_t n, int64_t d, const REAL *X, int64_t xs0, int64_t xs1,
                            const double *w, double b, const double *sw, const double *v, double v_b,
                            double *hv, double *result, int n_threads)
{
    MATRIX Xm = {X, n, d, xs0, xs1};
    struct flr_scratch L = scratch_layout(FLR_FUSED_BINARY, d, 1);
    struct flr_args a = {.w = w, .b = &b, .sw = sw, .v = v, .v_b = &v_b};
    struct flr_outputs o = {2, {hv, result}, {L.grad, L.acc}, {d, 1}};
    return SFX(run_fused)(ROWS.logistic_hessp_rows, &Xm, &a, &L, n * (d + 1), n_threads, &o);
}

int SFX(flr_softmax_hessp)(int64_t n, int64_t d, int64_t C, const REAL *X, int64_t xs0, int64_t xs1,
                           const double *W, const double *b, const double *sw, const double *V,
                           const double *v_b, double *hv, double *hv_b, int n_threads)
{
    MATRIX Xm = {X, n, d, xs0, xs1};
    struct flr_scratch L = scratch_layout(FLR_FUSED_SOFTMAX_HESSP, d, C);
    struct flr_args a = {.C = C, .w = W, .b = b, .sw = sw, .v = V, .v_b = v_b};
    struct flr_outputs o = {2, {hv, hv_b}, {L.grad, L.grad_b}, {C * d, C}};
    return SFX(run_fused)(ROWS.softmax_hessp_rows, &Xm, &a, &L, n * C * (d + 1), n_threads, &o);
}
