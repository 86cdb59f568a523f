"""Cross-validation folds fitted side by side, their objectives evaluated in one pass.

A k-fold path fits k models on overlapping rows: fold ``f`` trains on every row but its
held-out ones. Fitted one after the other, each evaluation of a fold's objective is a
pass over (k - 1)/k of X, after a copy of those rows. Here no training rows are copied:
fold ``f`` sees all of X with the sample weights ``fold_weights[f]``, which are 0 on its
held-out rows, and the folds' solvers run side by side, each in a thread of its own.
When every fold still running has asked for its loss and gradient, one call of
:func:`fastlogreg.backends.numba_kernels.folds.binary_folds_loss_grad` computes all of
them in one pass over X, on the calling (main) thread; the solvers then go on. Any
other function of a fold's rows (a Hessian-vector product, column sums) is evaluated
on the main thread too, by the fold's single-model kernel on the same weighted rows, so
that kernels are never called from two threads at once.

Each fold's solver sees an :class:`~fastlogreg.solvers.Objective` over a
:class:`FoldSource`, so the solvers and their stopping tests are those of a single fit.
Used for dense binary problems fitted by L-BFGS on the fast backends; the results
equal the one-fold-at-a-time fits up to the order of floating-point additions.
"""

import contextvars
import threading

import numpy as np

from . import _backend, _chunks
from ._problems import BinaryProblem, _threads_for
from ._sources import _Source


class FoldBatch:
    """The folds of a binary problem and the coordinator of their side-by-side fits.

    Parameters
    ----------
    design : dense design matrix (:mod:`fastlogreg._design`) of shape (n, d), C-contiguous
    target : (n,) float64 in [0, 1]
    folds : list of (train, test) row index arrays
    sample_weight : (n,) float64 or None
    link : {"logit", "probit"}

    Attributes
    ----------
    weights : (F, n) float64
        Row ``f``: fold ``f``'s training weights, ``sample_weight`` (1 when None) on its
        training rows and 0 on its held-out rows.
    """

    def __init__(self, design, target, folds, sample_weight, link):
        self.design, self.target, self.link = design, target, link
        self.n_folds, self.n_features = len(folds), design.shape[1]
        self.n_train = [len(train) for train, _ in folds]
        self.weights = np.zeros((self.n_folds, design.shape[0]))
        for f, (train, _) in enumerate(folds):
            self.weights[f, train] = 1.0 if sample_weight is None else sample_weight[train]
        self.problems = [BinaryProblem(design, target, self.weights[f], link=link)
                         for f in range(self.n_folds)]
        self._cond = threading.Condition()
        self._requests = {}  # fold -> (fn, args)
        self._answers = {}  # fold -> (ok, value)
        self._running = set()
        self._cancelled = False

    def source(self, f):
        """The :class:`FoldSource` of fold ``f`` (to build its Objective)."""
        return FoldSource(self, f)

    # ----------------------------------------------------------------- fold threads
    def ask(self, f, fn, args):
        """From fold ``f``'s thread: ``fn(fold f's rows, *args)``, computed on the main thread."""
        with self._cond:
            self._requests[f] = (fn, args)
            self._cond.notify_all()
            while f not in self._answers and not self._cancelled:
                self._cond.wait()
            if f not in self._answers:
                raise RuntimeError("the side-by-side fits were interrupted")
            ok, value = self._answers.pop(f)
        if not ok:
            raise value
        return value

    # ----------------------------------------------------------------- main thread
    def run(self, jobs):
        """Run ``jobs[f]()`` for every fold in a thread of its own and serve their requests
        here until all have returned; returns their results in fold order. The first
        exception of a job is raised once every job has ended."""
        results = [None] * len(jobs)
        errors = []

        def work(f):
            try:
                results[f] = jobs[f]()
            except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread
                errors.append(exc)
            finally:
                with self._cond:
                    self._running.discard(f)
                    self._cond.notify_all()

        self._running = set(range(len(jobs)))
        # each thread runs in a copy of this context: use_backend() applies there too
        threads = [threading.Thread(target=contextvars.copy_context().run, args=(work, f), daemon=True)
                   for f in range(len(jobs))]
        for thread in threads:
            thread.start()
        try:
            with self._cond:
                while self._running:
                    # every fold still running is waiting for an answer: serve them all
                    while self._running and not self._running <= set(self._requests):
                        self._cond.wait()
                    if self._running:
                        self._serve()
        except BaseException:  # KeyboardInterrupt: release the folds' threads, which then end
            with self._cond:
                self._cancelled = True
                self._cond.notify_all()
            raise
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return results

    def _serve(self):
        requests, self._requests = self._requests, {}
        batched = {f: args for f, (fn, args) in requests.items() if fn is _chunks.loss_grad_partials}
        answers = {}
        try:
            if batched:
                answers.update(self._loss_grad_all(batched))
        except Exception as exc:  # noqa: BLE001 - handed to the folds that asked
            answers.update({f: (False, exc) for f in batched})
        for f, (fn, args) in requests.items():
            if f in batched:
                continue
            try:
                answers[f] = (True, [fn(self.problems[f], *args)])
            except Exception as exc:  # noqa: BLE001 - handed to the fold that asked
                answers[f] = (False, exc)
        self._answers.update(answers)
        self._cond.notify_all()

    def _loss_grad_all(self, batched):
        """``{f: (True, [partials])}`` for the folds of ``batched`` (``f: (w, b, backend)``),
        in one pass over X; the partials are laid out as
        :func:`fastlogreg._chunks.loss_grad_partials` lays them out."""
        import numba

        from .backends.numba_kernels import folds as kernels
        from .backends.numba_kernels.fused import LOGIT, PROBIT

        F, d = self.n_folds, self.n_features
        active = np.zeros(F, dtype=bool)
        W = np.zeros((F, d))
        B = np.zeros(F)
        for f, (w, b, _) in batched.items():
            active[f] = True
            W[f] = w
            B[f] = b
        loss, grad_w, grad_b = np.zeros(F), np.zeros((F, d)), np.zeros(F)
        n_threads = _threads_for(self.design)
        numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
        link = LOGIT if self.link == "logit" else PROBIT
        kernels.binary_folds_loss_grad(link, self.design.X, self.target, self.weights, active,
                                       (W, B), (loss, grad_w, grad_b), n_threads)
        return {f: (True, [np.concatenate([[loss[f]], grad_w[f], [grad_b[f]]])]) for f in batched}


class FoldSource(_Source):
    """Fold ``f`` of a :class:`FoldBatch` as a one-chunk source (see
    :mod:`fastlogreg._sources`) for the full-batch L-BFGS solver: its rows are X's rows
    with the fold's weights, and every :meth:`map` is answered on the main thread."""

    n_chunks = 1

    def __init__(self, batch, f):
        self.batch, self.fold = batch, f
        problem = batch.problems[f]
        self._describe(batch.n_train[f], problem.n_features, 1, False, problem.link, problem.X.dtype,
                       False, problem.weight_sum)

    def map(self, fn, *args):
        return self.batch.ask(self.fold, fn, args)


def usable(design, n_classes, link, backend):
    """True when folds of this data can be fitted side by side: dense C-contiguous X,
    two classes and a fast backend (not the NumPy reference) with Numba installed."""
    if design.is_sparse or n_classes != 2 or link not in ("logit", "probit"):
        return False
    if not design.X.flags.c_contiguous:
        return False
    name = _backend.get_backend() if backend is None else backend
    return name != "numpy" and "numba" in _backend.available_backends()
