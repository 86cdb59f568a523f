"""Checks of the C kernels against the NumPy reference and of its ISA levels against each
other, used by tests/test_c_kernels_invariants.py.

:func:`reference_mismatches` calls every C kernel (``fastlogreg.backends.c``) on one data
type over many shapes, memory layouts (C and Fortran order, negative and non-unit strides,
broadcast rows, read-only and unaligned arrays) and thread counts, and compares it with
``fastlogreg.backends.reference`` (the oracle) or, where the reference itself cancels, with
an accurate NumPy formula.  :func:`fused_results` gives the outputs of the fused kernels in
one flat float64 vector, for comparing the ISA levels of the C kernel (a child process per
level, ``FASTLOGREG_C_ISA``), and :func:`rowwise_results` and :func:`csr_results` those of
the kernels compiled once for every level.
"""

import numpy as np
from scipy import special

from fastlogreg.backends import c
from fastlogreg.backends import reference as ref

SHAPES = [(1, 1), (1, 5), (3, 1), (7, 2), (33, 13), (75, 8), (20, 16), (300, 37)]
THREADS = (1, 3)


def tol(dtype, fused=False):
    """Relative tolerance of the C kernels against the reference for data of ``dtype``."""
    if dtype == np.float64:
        return 1e-12 if fused else 4e-15
    return 1e-5 if fused else 4 * np.finfo(np.float32).eps


def layouts(a):
    """``a`` in several memory layouts with the same values: name -> array."""
    out = {"C": a, "F": np.asfortranarray(a), "neg": a[::-1, ::-1].copy()[::-1, ::-1]}
    out["step"] = np.repeat(np.repeat(a, 2, axis=0), 3, axis=1)[::2, ::3]
    ro = a.copy()
    ro.setflags(write=False)
    out["ro"] = ro
    out["bcast"] = np.broadcast_to(a[:1], a.shape)
    # a row stride that is not a multiple of the itemsize
    raw = np.zeros(a.size * a.itemsize + 1, np.uint8)[1:].view(a.dtype).reshape(a.shape)
    raw[...] = a
    out["unaligned"] = raw
    return out


class Comparer:
    """Collects the comparisons that fail: ``mismatches`` lists their names and errors."""

    def __init__(self):
        self.count = 0
        self.mismatches = []

    def close(self, name, got, want, rtol, atol=0.0):
        """Record a mismatch unless got and want have NaN at the same places and agree to
        ``|got - want| <= atol + rtol |want|`` elsewhere."""
        self.count += 1
        got = np.asarray(got, np.float64)
        want = np.asarray(want, np.float64)
        nan = np.isnan(want)
        same_nan = np.array_equal(np.isnan(got), nan)
        with np.errstate(invalid="ignore"):
            ok = same_nan and np.allclose(got[~nan], want[~nan], rtol=rtol, atol=atol)
        if not ok:
            with np.errstate(invalid="ignore", divide="ignore"):
                err = np.nanmax(np.abs(got - want) / np.maximum(np.abs(want), 1e-300)) if got.size else 0.0
            self.mismatches.append(f"{name}: max relative error {err:.3g}, same NaNs {same_nan}")


def _softmax_oracle(X64, W, b, labs, Y, sw):
    """Accurate softmax loss gradient: at the argmax p_t - 1 = -s / (1 + s) (the
    reference computes it by a cancelling subtraction)."""
    n, C = X64.shape[0], W.shape[0]
    Zs = X64 @ W.T + b
    am = Zs.argmax(1)
    E = np.exp(Zs - Zs.max(1, keepdims=True))
    E2 = E.copy()
    E2[np.arange(n), am] = 0
    S = E2.sum(1)
    P = E / (1.0 + S)[:, None]
    if labs.size:
        T = np.zeros((n, C))
        T[np.arange(n), labs] = 1.0
        R = P - T
        hit = labs == am
        R[np.arange(n)[hit], labs[hit]] = -S[hit] / (1 + S[hit])
    else:
        R = P - Y
    R *= (sw if sw.size else np.ones(n))[:, None]
    return R.T @ X64, R.sum(0)


def _check_shape(cmp, rng, dtype, n, d):
    base = (rng.standard_normal((n, d)) * 4).astype(dtype)
    if base.size > 2:
        base.flat[0] = 40
    for vname, x in layouts(base).items():
        for nt in THREADS:
            tag = f"{np.dtype(dtype).name} {n}x{d} {vname} nt={nt}"
            for fname, args in [("sigmoid", (1.7,)), ("log_sigmoid", ()), ("log_ndtr", ())]:
                o1, o2 = np.empty(x.shape, dtype), np.empty(x.shape, dtype)
                getattr(c, fname)(x, *args, o1, nt)
                getattr(ref, fname)(x, *args, o2, nt)
                # SciPy's log_ndtr (the reference) loses accuracy beyond |x| = 8
                keep = np.abs(x) < 8 if fname == "log_ndtr" else np.ones(x.shape, bool)
                rtol = 2e-14 if fname == "log_ndtr" and dtype == np.float64 else tol(dtype)
                cmp.close(f"{fname} {tag}", o1[keep], o2[keep], rtol)
            for fname in ("softmax", "log_softmax"):
                o1, o2 = np.empty(x.shape, dtype), np.empty(x.shape, dtype)
                getattr(c, fname)(x, o1, nt)
                getattr(ref, fname)(x, o2, nt)
                cmp.close(f"{fname} {tag}", o1, o2, tol(dtype), atol=np.finfo(dtype).tiny)
            o1, o2 = np.empty(n, dtype), np.empty(n, dtype)
            c.logsumexp(x, o1, nt)
            ref.logsumexp(x, o2, nt)
            cmp.close(f"logsumexp {tag}", o1, o2, tol(dtype))
            V = np.asfortranarray(rng.standard_normal((n, d)).astype(dtype))
            for fname in ("inner", "cosine_similarity"):
                getattr(c, fname)(x, V, o1, nt)
                getattr(ref, fname)(x, V, o2, nt)
                t = 1e-12 if dtype == np.float64 else tol(dtype)
                cmp.close(f"{fname} {tag}", o1, o2, t, atol=1e-12 if dtype == np.float64 else 1e-5)
            y = rng.choice([0.0, 1.0, 0.3], size=n)
            c.binary_cross_entropy(x[:, 0], y, o1, nt)
            ref.binary_cross_entropy(x[:, 0], y, o2, nt)
            cmp.close(f"bce {tag}", o1, o2, tol(dtype))
            Yp = rng.dirichlet(np.ones(d), size=n)
            Yp[0, 0] = 0.0
            for lab, Y in [(rng.integers(0, d, size=n), np.zeros((0, 0))), (np.zeros(0, np.int64), Yp)]:
                c.cross_entropy(x, lab, Y, o1, nt)
                ref.cross_entropy(x, lab, Y, o2, nt)
                t = 1e-13 if dtype == np.float64 else tol(dtype)
                cmp.close(f"cross_entropy {tag} labels={lab.size}", o1, o2, t, atol=1e-15)
            _check_fused(cmp, rng, dtype, x, y, nt, tag)


def _check_fused(cmp, rng, dtype, x, y, nt, tag):
    n, d = x.shape
    t = tol(dtype, True)
    X64 = np.asarray(x, np.float64)
    w = rng.standard_normal(d) * 0.3
    for sw in (np.zeros(0), rng.uniform(0, 2, n)):
        weights = sw if sw.size else np.ones(n)
        tag_w = f"{tag} weights={bool(sw.size)}"
        for fname in ("logistic_loss_grad", "probit_loss_grad"):
            g1, g2 = np.empty(d), np.empty(d)
            r1 = getattr(c, fname)(x, y, w, 0.2, sw, g1, nt)
            r2 = getattr(ref, fname)(x, y, w, 0.2, sw, g2, nt)
            cmp.close(f"{fname} loss {tag_w}", r1[0], r2[0], t)
            cmp.close(f"{fname} grad {tag_w}", g1, g2, t, atol=t * (np.abs(g2).max() + abs(r2[1])))
            cmp.close(f"{fname} grad_b {tag_w}", r1[1], r2[1], t, atol=t * np.abs(g2).max())
        v = rng.standard_normal(d)
        h1 = np.empty(d)
        hb1 = c.logistic_hessp(x, w, 0.2, sw, v, 0.5, h1, nt)
        # accurate oracle with s(z) s(-z) (the reference's p (1 - p) cancels)
        zz = X64 @ w + 0.2
        hh = special.expit(zz) * special.expit(-zz) * weights * (X64 @ v + 0.5)
        h2 = X64.T @ hh
        cmp.close(f"logistic_hessp {tag_w}", h1, h2, t, atol=t * np.abs(h2).max())
        cmp.close(f"logistic_hessp b {tag_w}", hb1, hh.sum(), t, atol=t * np.abs(h2).max())
        for C in (1, 2, 4, 7):  # 7: the class quad, pair and single paths
            W = rng.standard_normal((C, d)) * 0.3
            b = rng.standard_normal(C)
            lab = rng.integers(0, C, size=n)
            Yc = rng.dirichlet(np.ones(C), size=n)
            for labs, Y in [(lab, np.zeros((0, 0))), (np.zeros(0, np.int64), Yc)]:
                G1, b1 = np.empty((C, d)), np.empty(C)
                G2, b2 = np.empty((C, d)), np.empty(C)
                l1 = c.softmax_loss_grad(x, labs, Y, W, b, sw, G1, b1, nt)
                l2 = ref.softmax_loss_grad(x, labs, Y, W, b, sw, G2, b2, nt)
                G3, b3 = _softmax_oracle(X64, W, b, labs, Y, sw)
                sc = np.abs(G3).max() + np.abs(b3).max()
                name = f"softmax_loss_grad C={C} labels={labs.size} {tag_w}"
                cmp.close(f"{name} loss", l1, l2, t)
                cmp.close(f"{name} grad_W", G1, G3, t, atol=t * sc)
                cmp.close(f"{name} grad_b", b1, b3, t, atol=t * sc)
            Vm = rng.standard_normal((C, d))
            vb = rng.standard_normal(C)
            G1, b1 = np.empty((C, d)), np.empty(C)
            G2, b2 = np.empty((C, d)), np.empty(C)
            c.softmax_hessp(x, W, b, sw, Vm, vb, G1, b1, nt)
            ref.softmax_hessp(x, W, b, sw, Vm, vb, G2, b2, nt)
            Zs = X64 @ W.T + b
            P = np.exp(Zs - Zs.max(1, keepdims=True))
            P /= P.sum(1, keepdims=True)
            U = X64 @ Vm.T + vb
            # the size of the terms that H v sums, per class: the scale of its rounding
            terms = weights[:, None] * P * (np.abs(U) + np.abs((P * U).sum(1, keepdims=True)))
            sc = 4 * (terms.T @ np.abs(X64).max(1)).max()
            cmp.close(f"softmax_hessp C={C} {tag_w}", G1, G2, t, atol=t * sc)
            cmp.close(f"softmax_hessp b C={C} {tag_w}", b1, b2, t, atol=t * sc)


def _check_specials(cmp, dtype):
    sp = np.array([[np.inf, 0.0, 1.0], [-np.inf, -np.inf, -np.inf], [np.inf, np.inf, 3.0],
                   [np.nan, 1.0, 2.0], [1000.0, -1000.0, 0.0], [-745.0, -800, 30]], dtype)
    name = np.dtype(dtype).name
    for fname in ("softmax", "log_softmax"):
        o1, o2 = np.empty(sp.shape, dtype), np.empty(sp.shape, dtype)
        getattr(c, fname)(sp, o1, 1)
        getattr(ref, fname)(sp, o2, 1)
        cmp.close(f"special {fname} {name}", o1, o2, tol(dtype))
    o1, o2 = np.empty(6, dtype), np.empty(6, dtype)
    c.logsumexp(sp, o1, 1)
    ref.logsumexp(sp, o2, 1)
    cmp.close(f"special logsumexp {name}", o1, o2, tol(dtype))
    xs = np.array([[-np.inf, -1e300, -1e5, -40, -38, -37.5, -30, -20.0001, -20, -19.999, -10, -5,
                    -1.0001, -1, -0.9999, -1e-300, 0, 1e-300, 1, 5, 8, 10, 30, 40, 1e5, np.inf,
                    np.nan]])
    with np.errstate(over="ignore"):  # float32: -1e300 becomes -inf
        xs = xs.astype(dtype)
    for fname, args in [("sigmoid", (1.0,)), ("log_sigmoid", ()), ("log_ndtr", ())]:
        o1, o2 = np.empty(xs.shape, dtype), np.empty(xs.shape, dtype)
        getattr(c, fname)(xs, *args, o1, 1)
        getattr(ref, fname)(xs, *args, o2, 1)
        keep = ~(np.abs(xs) > 8) if fname == "log_ndtr" else np.ones(xs.shape, bool)
        cmp.close(f"special {fname} {name}", o1[keep], o2[keep], 2e-14 if dtype == np.float64 else tol(dtype))
    yv = np.array([0.0, 1.0, 0.5] * 9)[: xs.shape[1]]
    o1, o2 = np.empty(xs.shape[1], dtype), np.empty(xs.shape[1], dtype)
    c.binary_cross_entropy(xs[0], yv, o1, 1)
    ref.binary_cross_entropy(xs[0], yv, o2, 1)
    cmp.close(f"special bce {name}", o1, o2, tol(dtype))


def reference_mismatches(dtype, shapes=SHAPES, seed=0):
    """Compare every C kernel on data of ``dtype`` with the reference.

    Returns ``(count, mismatches)``: the number of comparisons and the list of those that
    failed (name and largest relative error).
    """
    rng = np.random.default_rng(seed)
    cmp = Comparer()
    for n, d in shapes:
        _check_shape(cmp, rng, dtype, n, d)
    _check_specials(cmp, dtype)
    return cmp.count, cmp.mismatches


def _fused_inputs(dtype, n=20_000, d=37, C=4, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n, d)) * 3).astype(dtype)
    return {"X": X, "y": rng.choice([0.0, 1.0, 0.3], n), "w": rng.standard_normal(d) * 0.3,
            "sw": rng.uniform(0, 2, n), "W": rng.standard_normal((C, d)) * 0.3,
            "b": rng.standard_normal(C), "lab": rng.integers(0, C, n)}


def fused_results(dtype, n_threads=2):
    """Every fused kernel's outputs (loss, gradients, Hessian-vector products) on one fixed
    problem (float64 or float32 X, 20,000 x 37, 4 classes, sample weights, soft binary
    labels): kernel name -> its outputs concatenated into one float64 vector."""
    p = _fused_inputs(dtype)
    X, sw, W, b = p["X"], p["sw"], p["W"], p["b"]
    d, C = X.shape[1], W.shape[0]
    g, gp, h = np.empty(d), np.empty(d), np.empty(d)
    r = c.logistic_loss_grad(X, p["y"], p["w"], 0.1, sw, g, n_threads)
    rp = c.probit_loss_grad(X, p["y"], p["w"], 0.1, sw, gp, n_threads)
    hb = c.logistic_hessp(X, p["w"], 0.1, sw, p["w"], 0.2, h, n_threads)
    G, gb = np.empty((C, d)), np.empty(C)
    loss = c.softmax_loss_grad(X, p["lab"], np.zeros((0, 0)), W, b, sw, G, gb, n_threads)
    H, hb2 = np.empty((C, d)), np.empty(C)
    c.softmax_hessp(X, W, b, sw, W, b, H, hb2, n_threads)
    return {"logistic_loss_grad": np.concatenate([np.ravel(r), g]),
            "probit_loss_grad": np.concatenate([np.ravel(rp), gp]),
            "logistic_hessp": np.concatenate([np.ravel(hb), h]),
            "softmax_loss_grad": np.concatenate([np.ravel(loss), G.ravel(), gb]),
            "softmax_hessp": np.concatenate([H.ravel(), hb2])}


def csr_results(dtype, n_threads=2):
    """Every CSR kernel's outputs on one fixed problem (float64 or float32 data, 20,000 x 37,
    rows of 0 to 23 entries, unsorted and repeated columns, sample weights, 4 classes), with
    int32 and then int64 indices: one float64 vector, whose two halves should be equal."""
    p = _fused_inputs(dtype)
    n, d = p["X"].shape
    sw, W, b, C = p["sw"], p["W"], p["b"], p["W"].shape[0]
    rng = np.random.default_rng(1)
    indptr = np.concatenate([[0], np.cumsum(rng.integers(0, 24, n))])
    indices = rng.integers(0, d, indptr[-1])
    data = (rng.standard_normal(indptr[-1]) * 3).astype(dtype)
    outs = []
    for itype in (np.int32, np.int64):
        X = (data, indices.astype(itype), indptr.astype(itype))
        g, gp, h = np.empty(d), np.empty(d), np.empty(d)
        outs += [np.ravel(c.logistic_loss_grad_csr(*X, p["y"], p["w"], 0.1, sw, g, n_threads)), g]
        outs += [np.ravel(c.probit_loss_grad_csr(*X, p["y"], p["w"], 0.1, sw, gp, n_threads)), gp]
        outs += [np.ravel(c.logistic_hessp_csr(*X, p["w"], 0.1, sw, p["w"], 0.2, h, n_threads)), h]
        G, gb = np.empty((C, d)), np.empty(C)
        loss = c.softmax_loss_grad_csr(*X, p["lab"], np.zeros((0, 0)), W, b, sw, G, gb, n_threads)
        outs += [np.ravel(loss), G.ravel(), gb]
        H, hb = np.empty((C, d)), np.empty(C)
        c.softmax_hessp_csr(*X, W, b, sw, W, b, H, hb, n_threads)
        outs += [H.ravel(), hb]
    return np.concatenate([np.asarray(a, np.float64) for a in outs])


def rowwise_results(dtype, n_threads=2):
    """Outputs of the kernels that are compiled once for every ISA level (logsumexp,
    softmax, log_softmax, inner, cosine_similarity, cross_entropy), concatenated into one
    float64 vector."""
    p = _fused_inputs(dtype, n=2_000)
    X, lab = p["X"], p["lab"] % p["X"].shape[1]
    n = X.shape[0]
    outs = []
    for fname in ("softmax", "log_softmax"):
        o = np.empty(X.shape, dtype)
        getattr(c, fname)(X, o, n_threads)
        outs.append(o.ravel())
    o = np.empty(n, dtype)
    c.logsumexp(X, o, n_threads)
    outs.append(o.copy())
    for fname in ("inner", "cosine_similarity"):
        getattr(c, fname)(X, X[::-1], o, n_threads)
        outs.append(o.copy())
    c.cross_entropy(X, lab, np.zeros((0, 0)), o, n_threads)
    outs.append(o.copy())
    return np.concatenate([np.asarray(a, np.float64) for a in outs])
