"""Backends: three implementations of one kernel contract.

A backend is a module (``reference`` = "numpy", ``numba_kernels`` = "numba",
``c`` = "c") that exposes every kernel of :data:`.contract.KERNELS` with exactly the
parameters listed there. The public layer (:mod:`fastlogreg.functions`) validates
every argument once and passes arrays that already satisfy the contract; kernels trust
their inputs and do no bounds checks (an unchecked class index is a memory error in
Numba or C).

Conventions for every kernel
----------------------------
* "data" arrays (``x``, ``Z``, ``X``, ``out``) are float32 or float64, one dtype per
  call (``out`` has the dtype of the data it is computed from); any strides,
  including 0 (broadcast) and negative; they may be read-only. Fast paths are
  allowed for C-contiguous arrays, never required.
* ``y``, ``sample_weight``, ``w``, ``b``, ``v`` and all gradient / Hessian-vector
  outputs are float64 (the parameters of a model live in float64); ``labels`` are
  int64 and already checked to lie in ``[0, n_classes)``.
* ``sample_weight`` of length 0 means unit weights (no n-sized array of ones).
* Transcendental parts and every sum are computed in float64 whatever the data
  dtype; only the final per-element value is rounded to the data dtype.
* Fused kernels return *partial sums* over the rows they were given (weighted loss
  sum, gradient sum); the public layer adds partials, divides by the weight sum and
  adds the L2 penalty. So a caller may feed row blocks (Dask chunks, files) and add.
* Every kernel takes ``n_threads`` (>= 1) as its last argument. Parallel kernels split
  rows into ``n_threads`` static, contiguous chunks, reduce each chunk in row order and
  add the chunk partials in chunk order: repeated calls with the same ``n_threads`` are
  bit-identical.

CSR kernels
-----------
The fused and Hessian-vector kernels have twins named ``<kernel>_csr`` that take X as a
compressed sparse row matrix: ``data`` (nnz,) float32 or float64, ``indices`` (nnz,)
column indices and ``indptr`` (n + 1,) row pointers, both int32 or both int64, all
contiguous. Row i holds the entries ``indptr[i] <= p < indptr[i + 1]``; ``indptr``
is nondecreasing but ``indptr[0]`` need not be 0 (a row range of a larger matrix is
passed as the whole ``data`` and ``indices`` with a slice of ``indptr``). Column
indices lie in ``[0, d)``, may be unsorted and may repeat within a row: repeated
entries add (SciPy's convention), which the linear forms ``x_i . w`` and
``X^T r`` give without any canonicalisation. The kernels make one pass over the
nonzeros, parallel over static row chunks as above, with per-chunk gradient buffers
added in chunk order.

Numerical forms every backend keeps
-----------------------------------
* Infinite logits follow one rule: where ``m = max(z)`` is infinite, the entries equal
  to ``m`` share the probability mass equally and the others get 0 (so
  ``softmax([inf, 0]) = [1, 0]`` and an all ``-inf`` row is uniform). NaN propagates.
* ``binary_cross_entropy`` is ``y * softplus(-z) + (1 - y) * softplus(z)`` (no
  cancellation for any y); ``cross_entropy`` writes ``logsumexp(z) - z_k`` as
  ``(m - z_k) + log1p(s)``.

The kernels
-----------
Their names, parameters and what each computes are defined once, in code:
:data:`fastlogreg.backends.contract.KERNELS`. The registry refuses a backend whose
module lacks a kernel or has it with other parameters
(:func:`fastlogreg.backends.contract.contract_violations`); how to add a kernel or a
backend is described in :mod:`fastlogreg.backends.contract`.
"""
