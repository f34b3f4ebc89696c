"""Working from a notebook: the estimator convention, rich display, progress, DataFrames.

* :class:`Estimator` and :func:`check_fitted`: scikit-learn's conventions for the
  library's models (``get_params`` / ``set_params``, so ``sklearn.base.clone``
  works; ``NotFittedError`` before ``fit``).
* :class:`Report` (in :mod:`custmgmt.notebook.display`): how results draw themselves
  as compact HTML in Jupyter (``_repr_html_``): summaries, never one row per customer.
* :class:`Tracker` (in :mod:`custmgmt.notebook.progress`): the one mechanism behind
  every ``progress=`` argument (``True`` draws a bar on a terminal, nothing on a pipe).
* :func:`to_pandas` / :func:`to_polars` (in :mod:`custmgmt.notebook.dataframes`):
  results out as DataFrames without copying numeric columns.
* :mod:`custmgmt.notebook.analyses`: one call from a DataFrame of orders to a
  result (``rate``, ``segment``, ``rfm``, ``churn``); imported on its own because it
  reads the capabilities.
"""

from custmgmt.notebook.dataframes import Coded, Times, to_pandas, to_polars
from custmgmt.notebook.display import Report, Table
from custmgmt.notebook.estimator import Estimator, check_fitted
from custmgmt.notebook.progress import Step, Tracker

__all__ = [
    "Coded",
    "Estimator",
    "Report",
    "Step",
    "Table",
    "Times",
    "Tracker",
    "check_fitted",
    "to_pandas",
    "to_polars",
]
