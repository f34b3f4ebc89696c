"""Columnar analytics on numpy: frames, customer features and the models built on them.

:mod:`custmgmt.analytics.frames` turns a store, arrays, a CSV file or a DataFrame into
immutable columnar frames (:class:`~custmgmt.analytics.frames.OrderFrame`,
:class:`~custmgmt.analytics.frames.InteractionFrame`) whose rows carry dense customer
codes; :mod:`custmgmt.analytics.features` computes per-customer features from them
for an explicit ``as_of``. Capabilities (scoring, rating, segmentation, churn, lifetime
value) read these, never the repositories' internals. pandas and polars are optional:
they are imported only by the ``from_pandas``/``to_pandas`` (and polars) methods.
This package imports nothing itself, so ``import custmgmt`` stays light.
"""

# The subpackages are the public surface; nothing is re-exported here.
__all__: list[str] = []
