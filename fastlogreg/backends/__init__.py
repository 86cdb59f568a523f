"""Backends: three implementations of one kernel contract.

A backend is a module (``reference`` = "numpy", ``numba_kernels`` = "numba",
``c`` = "c") that exposes the functions below with exactly these signatures.
The public layer (:mod:`fastlogreg.functions`) validates every argument once and
passes arrays that already satisfy the contract; kernels trust their inputs and do
no bounds checks (an unchecked class index is a memory error in Numba or C).

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
* Every kernel takes ``n_threads`` (>= 1) as its last argument (left out of the
  signatures below). Parallel kernels split rows into ``n_threads`` static,
  contiguous chunks, reduce each chunk in row order and add the chunk partials in
  chunk order: repeated calls with the same ``n_threads`` are bit-identical.

Elementwise, ``x`` and ``out`` 2-D of the same shape (``out`` may be ``x``)
---------------------------------------------------------------------------
``sigmoid(x, scale, out)``        out = 1 / (1 + exp(-scale * x))
``log_sigmoid(x, out)``           out = -softplus(-x)
``log_ndtr(x, out)``              out = log Phi(x), Phi the standard normal CDF

Row-wise over the last axis, ``Z`` of shape (n, C) with C >= 1
--------------------------------------------------------------
``logsumexp(Z, out)``             out (n,): m + log1p(sum_{k != argmax} exp(z_k - m))
``softmax(Z, out)``               out (n, C)
``log_softmax(Z, out)``           out (n, C)

``inner(U, V, out)``
    U, V (n, d) (rows may be stride-0 broadcasts); out (n,) = sum_j U_ij V_ij
    (float64 sums)
``cosine_similarity(U, V, out)``
    out (n,) = ``<u, v> / (|u| |v|)``; 0 where a norm is 0

Infinite logits follow one rule: where ``m = max(z)`` is infinite, the entries equal
to ``m`` share the probability mass equally and the others get 0 (so
``softmax([inf, 0]) = [1, 0]`` and an all ``-inf`` row is uniform). NaN propagates.

Per-sample losses
-----------------
``binary_cross_entropy(z, y, out)``
    z (n,), y (n,) float64 in [0, 1], out (n,) data dtype:
    ``out = y * softplus(-z) + (1 - y) * softplus(z)`` (no cancellation for any y).
``cross_entropy(Z, labels, Y, out)``
    Z (n, C); either labels (n,) int64 and Y of shape (0, 0), or labels of shape (0,)
    and Y (n, C) float64 probability rows; out (n,):
    ``out = sum_k Y_k (logsumexp(z) - z_k)`` written as ``(m - z_k) + log1p(s)``.

Fused loss + gradient, one pass over X (n, d); return partial sums
-------------------------------------------------------------------
``logistic_loss_grad(X, y, w, b, sample_weight, grad_w) -> (loss, grad_b)``
    z_i = x_i . w + b; r_i = sw_i (s(z_i) - y_i);
    grad_w[:] = sum_i r_i x_i (overwritten); returns (sum_i sw_i l_i, sum_i r_i).
``softmax_loss_grad(X, labels, Y, W, b, sample_weight, grad_W, grad_b) -> loss``
    W (C, d), b (C,), grad_W (C, d), grad_b (C,) overwritten; labels / Y as in
    ``cross_entropy``; R_ik = sw_i (softmax(z_i)_k - Y_ik);
    grad_W = R.T @ X, grad_b = R.sum(0); returns sum_i sw_i l_i.
``probit_loss_grad(X, y, w, b, sample_weight, grad_w) -> (loss, grad_b)``
    as ``logistic_loss_grad`` with l_i = -y log Phi(z) - (1 - y) log Phi(-z) and
    r_i = sw_i dl/dz.

Hessian-vector products at (w, b), one pass over X; partial sums
-----------------------------------------------------------------
``logistic_hessp(X, w, b, sample_weight, v, v_b, hv) -> hv_b``
    h_i = sw_i s(z_i) (1 - s(z_i)); u_i = x_i . v + v_b;
    hv[:] = sum_i h_i u_i x_i; returns sum_i h_i u_i.
``softmax_hessp(X, W, b, sample_weight, V, v_b, hv, hv_b)``
    p_i = softmax(z_i), u_i = V x_i + v_b (C,), r_i = sw_i p_i * (u_i - p_i . u_i);
    hv (C, d) = sum_i r_i x_i^T, hv_b (C,) = sum_i r_i (both overwritten).
"""
