"""Working from a notebook: the estimator convention, rich display and progress.

* :class:`Estimator` and :func:`check_fitted`: scikit-learn's conventions for the
  library's models (``get_params`` / ``set_params``, ``NotFittedError``).
"""

from custmgmt.notebook.estimator import Estimator, check_fitted

__all__ = ["Estimator", "check_fitted"]
