"""fastlogreg: fast and exact logistic and softmax regression.

Numerically stable kernels (sigmoid, log-sigmoid, softmax, log-softmax, log-sum-exp,
cross-entropies and fused loss+gradient) in Numba and C, checked against a NumPy
reference, and a scikit-learn compatible trainer on top. See README.md.
"""

from ._backend import available_backends
from ._backend import backend_info
from ._backend import get_backend
from ._backend import get_num_threads
from ._backend import set_backend
from ._backend import set_num_threads
from ._backend import use_backend
from .functions import binary_cross_entropy
from .functions import cosine_similarity
from .functions import cross_entropy
from .functions import inner
from .functions import log_ndtr
from .functions import log_sigmoid
from .functions import log_softmax
from .functions import logistic_hessp
from .functions import logistic_loss_grad
from .functions import logsumexp
from .functions import probit_loss_grad
from .functions import sigmoid
from .functions import softmax
from .functions import softmax_hessp
from .functions import softmax_loss_grad
from .persistence import load

__version__ = "0.1.0"

__all__ = [
    "LogisticRegression",
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
    # LogisticRegression imports scikit-learn (seconds): load it on first use only.
    if name == "LogisticRegression":
        from .linear_model import LogisticRegression

        return LogisticRegression
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
