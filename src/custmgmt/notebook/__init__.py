"""Working from a notebook: the estimator convention, rich display, progress, DataFrames.

* :class:`Estimator` and :func:`check_fitted`: scikit-learn's conventions for the
  library's models (``get_params`` / ``set_params``, so ``sklearn.base.clone``
  works; ``NotFittedError`` before ``fit``).
* :class:`Report` (in :mod:`custmgmt.notebook.display`): how results draw themselves
  as compact HTML in Jupyter (``_repr_html_``): summaries, never one row per customer;
  money (a :class:`MajorAmount`, a :class:`MoneyColumn`) at its currency's minor-unit digits.
* :class:`Tracker` (in :mod:`custmgmt.notebook.progress`): the one mechanism behind
  every ``progress=`` argument (``True`` draws a bar on a terminal, nothing on a pipe).
* :class:`FrameExport` (in :mod:`custmgmt.notebook.dataframes`): a result declares
  its columns once and gets ``to_pandas`` / ``to_polars`` / ``to_arrow`` without
  copying numeric columns, money as computed, int64 minor units or decimals
  (:class:`MoneyColumn`); :class:`Displayed` gives ``_repr_html_`` and ``summary()``.
* :mod:`custmgmt.notebook.analyses`: one call from a DataFrame of orders to a
  result (``rate``, ``segment``, ``rfm``, ``churn_flags``, ``clv``, ``sla_status``,
  also importable from ``custmgmt``); imported on its own because it reads the
  capabilities.
"""

from custmgmt.domain.money import MajorAmount
from custmgmt.notebook.dataframes import (
    Coded,
    FrameExport,
    MoneyColumn,
    Times,
    to_arrow,
    to_pandas,
    to_polars,
)
from custmgmt.notebook.display import Displayed, Report, Table
from custmgmt.notebook.estimator import Estimator, check_fitted
from custmgmt.notebook.progress import Step, Tracker

__all__ = [
    "Coded",
    "Displayed",
    "Estimator",
    "FrameExport",
    "MajorAmount",
    "MoneyColumn",
    "Report",
    "Step",
    "Table",
    "Times",
    "Tracker",
    "check_fitted",
    "to_arrow",
    "to_pandas",
    "to_polars",
]
