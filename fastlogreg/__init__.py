"""fastlogreg: fast and exact logistic and softmax regression.

Numerically stable kernels (sigmoid, log-sigmoid, softmax, log-softmax, log-sum-exp,
cross-entropies and fused loss+gradient) in Numba and C, checked against a NumPy
reference, and a scikit-learn compatible trainer on top. See README.md.
"""

from ._backend import (
    available_backends,
    backend_info,
    get_backend,
    get_num_threads,
    set_backend,
    set_num_threads,
    use_backend,
)
from ._sources import Chunks
from .functions import (
    binary_cross_entropy,
    cosine_similarity,
    cross_entropy,
    inner,
    log_ndtr,
    log_sigmoid,
    log_softmax,
    logistic_hessp,
    logistic_loss_grad,
    logsumexp,
    probit_loss_grad,
    sigmoid,
    softmax,
    softmax_hessp,
    softmax_loss_grad,
)
from .persistence import load

__version__ = "0.1.0"

__all__ = [
    "Chunks",
    "LogisticRegression",
    "LogisticRegressionCV",
    "available_backends",
    "backend_info",
    "binary_cross_entropy",
    "cosine_similarity",
    "cross_entropy",
    "get_backend",
    "get_num_threads",
    "inner",
    "load",
    "log_ndtr",
    "log_sigmoid",
    "log_softmax",
    "logistic_hessp",
    "logistic_loss_grad",
    "logsumexp",
    "probit_loss_grad",
    "set_backend",
    "set_num_threads",
    "sigmoid",
    "softmax",
    "softmax_hessp",
    "softmax_loss_grad",
    "use_backend",
]


def __getattr__(name):
    # The estimators import scikit-learn (seconds): load them on first use only.
    if name == "LogisticRegression":
        from .linear_model import LogisticRegression

        return LogisticRegression
    if name == "LogisticRegressionCV":
        from .linear_model_cv import LogisticRegressionCV

        return LogisticRegressionCV
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
