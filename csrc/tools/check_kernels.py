"""Compare every C kernel against the reference over dtypes, strides and edge shapes."""
import sys
import numpy as np
from scipy import special
from fastlogreg.backends import c, reference as ref

SMALL = "--small" in sys.argv
rng = np.random.default_rng(0)
fails = []
count = 0


def close(name, got, want, rtol, atol=0.0):
    global count
    count += 1
    got = np.asarray(got, np.float64); want = np.asarray(want, np.float64)
    same_nan = np.array_equal(np.isnan(got), np.isnan(want))
    with np.errstate(invalid="ignore"):
        ok = same_nan and np.allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=rtol, atol=atol, equal_nan=True)
    if not ok:
        err = np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-300)) if got.size else 0
        fails.append(f"{name}: max rel err {err:.3g}" + (f"\n got {got}\n want {want}" if "DEBUG" in __import__("os").environ else ""))


def variants(a):
    """a itself, Fortran order, reversed (negative strides), every other column, read-only, broadcast row."""
    out = {"C": a, "F": np.asfortranarray(a), "neg": a[::-1, ::-1].copy()[::-1, ::-1]}
    big = np.repeat(np.repeat(a, 2, axis=0), 3, axis=1)
    out["step"] = big[::2, ::3]
    ro = a.copy(); ro.setflags(write=False); out["ro"] = ro
    out["bcast"] = np.broadcast_to(a[:1], a.shape)
    # stride not a multiple of the itemsize
    raw = np.zeros(a.size * a.itemsize + 1, np.uint8)[1:].view(a.dtype).reshape(a.shape)
    raw[...] = a; out["unaligned"] = raw
    return out


def tol(dt, fused=False):
    if dt == np.float64:
        return 1e-12 if fused else 4e-15
    return 1e-5 if fused else 4 * np.finfo(np.float32).eps


shapes = [(1, 1), (1, 5), (3, 1), (7, 2), (33, 13), (75, 8), (20, 16)] + ([] if SMALL else [(1000, 37), (1000, 10)])
NT = [1, 2, 3]
for dt in (np.float64, np.float32):
    for (n, d) in shapes:
        base = (rng.standard_normal((n, d)) * 4).astype(dt)
        base.flat[0] = 40 if base.size > 2 else base.flat[0]
        for vname, x in variants(base).items():
            for nt in NT:
                tag = f"{dt.__name__} {n}x{d} {vname} nt={nt}"
                for fname, args in [("sigmoid", (1.7,)), ("log_sigmoid", ()), ("log_ndtr", ())]:
                    o1 = np.empty(x.shape, dt); o2 = np.empty(x.shape, dt)
                    getattr(c, fname)(x, *args, o1, nt); getattr(ref, fname)(x, *args, o2, nt)
                    keep = np.abs(x) < 8 if fname == "log_ndtr" else np.ones(x.shape, bool)  # scipy's log_ndtr loses accuracy beyond 8
                    close(f"{fname} {tag}", o1[keep], o2[keep], 2e-14 if fname == "log_ndtr" and dt == np.float64 else tol(dt))
                for fname in ("softmax", "log_softmax"):
                    o1 = np.empty(x.shape, dt); o2 = np.empty(x.shape, dt)
                    getattr(c, fname)(x, o1, nt); getattr(ref, fname)(x, o2, nt)
                    close(f"{fname} {tag}", o1, o2, tol(dt), atol=1e-300 if dt == np.float64 else 1e-38)
                o1 = np.empty(n, dt); o2 = np.empty(n, dt)
                c.logsumexp(x, o1, nt); ref.logsumexp(x, o2, nt); close(f"logsumexp {tag}", o1, o2, tol(dt))
                V = variants((rng.standard_normal((n, d))).astype(dt))["F"]
                for fname in ("inner", "cosine_similarity"):
                    getattr(c, fname)(x, V, o1, nt); getattr(ref, fname)(x, V, o2, nt)
                    close(f"{fname} {tag}", o1, o2, 1e-12 if dt == np.float64 else tol(dt), atol=1e-12 if dt == np.float64 else 1e-5)
                # losses
                z = x[:, 0]
                y = rng.choice([0.0, 1.0, 0.3], size=n)
                c.binary_cross_entropy(z, y, o1, nt); ref.binary_cross_entropy(z, y, o2, nt)
                close(f"bce {tag}", o1, o2, tol(dt))
                labels = rng.integers(0, d, size=n)
                Yp = rng.dirichlet(np.ones(d), size=n); Yp[0, 0] = 0.0
                for lab, Y in [(labels, np.zeros((0, 0))), (np.zeros(0, np.int64), Yp)]:
                    c.cross_entropy(x, lab, Y, o1, nt); ref.cross_entropy(x, lab, Y, o2, nt)
                    close(f"cross_entropy {tag} labels={lab.size}", o1, o2, 1e-13 if dt == np.float64 else tol(dt), atol=1e-15)
                # fused
                w = rng.standard_normal(d) * 0.3
                for sw in (np.zeros(0), rng.uniform(0, 2, n)):
                    for fname in ("logistic_loss_grad", "probit_loss_grad"):
                        g1 = np.empty(d); g2 = np.empty(d)
                        r1 = getattr(c, fname)(x, y, w, 0.2, sw, g1, nt)
                        r2 = getattr(ref, fname)(x, y, w, 0.2, sw, g2, nt)
                        t = tol(dt, True)
                        close(f"{fname} loss {tag}", r1[0], r2[0], t)
                        close(f"{fname} grad {tag}", np.linalg.norm(g1) , np.linalg.norm(g2), t)
                        close(f"{fname} grad_elem {tag}", g1, g2, t, atol=t * (np.abs(g2).max() + abs(r2[1])))
                        close(f"{fname} gb {tag}", r1[1], r2[1], t, atol=t * np.abs(g2).max())
                    v = rng.standard_normal(d)
                    h1 = np.empty(d); h2 = np.empty(d)
                    hb1 = c.logistic_hessp(x, w, 0.2, sw, v, 0.5, h1, nt)
                    # oracle with the accurate s(z) s(-z) (the reference's p (1 - p) cancels)
                    X64 = np.asarray(x, np.float64); zz = X64 @ w + 0.2
                    hh = special.expit(zz) * special.expit(-zz) * (sw if sw.size else 1.0) * (X64 @ v + 0.5)
                    h2[:] = X64.T @ hh; hb2 = hh.sum()
                    close(f"logistic_hessp {tag}", h1, h2, tol(dt, True), atol=tol(dt, True) * np.abs(h2).max())
                    close(f"logistic_hessp b {tag}", hb1, hb2, tol(dt, True), atol=tol(dt, True) * np.abs(h2).max())
                    for C in (1, 2, 4, 7):  # 7: the class quad, pair and single paths
                        W = rng.standard_normal((C, d)) * 0.3; b = rng.standard_normal(C)
                        lab = rng.integers(0, C, size=n); Yc = rng.dirichlet(np.ones(C), size=n)
                        for labs, Y in [(lab, np.zeros((0, 0))), (np.zeros(0, np.int64), Yc)]:
                            G1 = np.empty((C, d)); G2 = np.empty((C, d)); b1 = np.empty(C); b2 = np.empty(C)
                            l1 = c.softmax_loss_grad(x, labs, Y, W, b, sw, G1, b1, nt)
                            l2 = ref.softmax_loss_grad(x, labs, Y, W, b, sw, G2, b2, nt)
                            # accurate oracle: p_t - 1 = -s/(1+s) at the argmax (the reference cancels)
                            X64 = np.asarray(x, np.float64); Zs = X64 @ W.T + b; am = Zs.argmax(1)
                            E = np.exp(Zs - Zs.max(1, keepdims=True)); E2 = E.copy(); E2[np.arange(n), am] = 0; S = E2.sum(1); P = E / (1.0 + S)[:, None]
                            T = np.zeros((n, C))
                            if labs.size: T[np.arange(n), labs] = 1.0
                            R = P - (T if labs.size else Y)
                            if labs.size:
                                hit = labs == am; R[np.arange(n)[hit], labs[hit]] = -S[hit] / (1 + S[hit])
                            R *= (sw if sw.size else np.ones(n))[:, None]
                            G2[...] = R.T @ X64; b2[...] = R.sum(0)
                            t = tol(dt, True); sc = np.abs(G2).max() + np.abs(b2).max()
                            close(f"softmax_loss_grad loss C={C} {tag}", l1, l2, t)
                            close(f"softmax_loss_grad G C={C} {tag}", G1, G2, t, atol=t * sc)
                            close(f"softmax_loss_grad b C={C} {tag}", b1, b2, t, atol=t * sc)
                        Vm = rng.standard_normal((C, d)); vb = rng.standard_normal(C)
                        G1 = np.empty((C, d)); G2 = np.empty((C, d)); b1 = np.empty(C); b2 = np.empty(C)
                        c.softmax_hessp(x, W, b, sw, Vm, vb, G1, b1, nt); ref.softmax_hessp(x, W, b, sw, Vm, vb, G2, b2, nt)
                        X64 = np.asarray(x, np.float64); Zs = X64 @ W.T + b; P = np.exp(Zs - Zs.max(1, keepdims=True)); P /= P.sum(1, keepdims=True)
                        U = X64 @ Vm.T + vb
                        sc = ((sw if sw.size else np.ones(n))[:, None] * P * (np.abs(U) + np.abs((P * U).sum(1, keepdims=True)))).T @ np.abs(X64).max(1)
                        sc = sc.max() * 4
                        close(f"softmax_hessp C={C} {tag}", G1, G2, t, atol=t * sc)
                        close(f"softmax_hessp b C={C} {tag}", b1, b2, t, atol=t * sc)

# special values
for dt in (np.float64, np.float32):
    sp = np.array([[np.inf, 0.0, 1.0], [-np.inf, -np.inf, -np.inf], [np.inf, np.inf, 3.0], [np.nan, 1.0, 2.0],
                   [1000.0, -1000.0, 0.0], [-745.0, -800, 30]], dt)
    for fname in ("softmax", "log_softmax"):
        o1 = np.empty(sp.shape, dt); o2 = np.empty(sp.shape, dt)
        getattr(c, fname)(sp, o1, 1); getattr(ref, fname)(sp, o2, 1)
        close(f"special {fname} {dt.__name__}", o1, o2, tol(dt))
    o1 = np.empty(6, dt); o2 = np.empty(6, dt)
    c.logsumexp(sp, o1, 1); ref.logsumexp(sp, o2, 1); close(f"special lse {dt.__name__}", o1, o2, tol(dt))
    xs = np.array([[-np.inf, -1e300, -1e5, -40, -38, -37.5, -30, -20.0001, -20, -19.999, -10, -5, -1.0001, -1, -0.9999, -1e-300, 0, 1e-300, 1, 5, 8, 10, 30, 40, 1e5, np.inf, np.nan]], np.float64).astype(dt)
    for fname, args in [("sigmoid", (1.0,)), ("log_sigmoid", ()), ("log_ndtr", ())]:
        o1 = np.empty(xs.shape, dt); o2 = np.empty(xs.shape, dt)
        getattr(c, fname)(xs, *args, o1, 1); getattr(ref, fname)(xs, *args, o2, 1)
        keep = ~(np.abs(xs) > 8) if fname == "log_ndtr" else np.ones(xs.shape, bool)
        close(f"special {fname} {dt.__name__}", o1[keep], o2[keep], 2e-14 if dt == np.float64 else tol(dt))
    yv = np.array([0.0, 1.0, 0.5] * 9)[: xs.shape[1]]
    o1 = np.empty(xs.shape[1], dt); o2 = np.empty(xs.shape[1], dt)
    c.binary_cross_entropy(xs[0], yv, o1, 1); ref.binary_cross_entropy(xs[0], yv, o2, 1)
    close(f"special bce {dt.__name__}", o1, o2, tol(dt))

# log_ndtr against scipy on a dense sweep
from scipy import special
xs = np.concatenate([-np.logspace(-3, 3, 20000), np.linspace(-40, 10, 20001)])[None, :]
o = np.empty_like(xs); c.log_ndtr(xs, o, 2)
rel = np.abs(o - special.log_ndtr(xs)) / np.abs(special.log_ndtr(xs)); rel = rel[0]; xs = xs[0]
print("log_ndtr max rel err vs scipy for |x| < 8:", rel[np.abs(xs) < 8].max())
if rel[np.abs(xs) < 8].max() > 2e-14:  # scipy loses accuracy beyond 8; C is within 3 ulp of mpmath (ndtr_mp.py)
    fails.append(f"log_ndtr sweep {rel.max()}")

print(f"{count} comparisons, {len(fails)} failures")
for f in fails[:40]:
    print("FAIL", f)
sys.exit(1 if fails else 0)
