"""The feature-table protocol: what scorers, ratings and segmentations read.

One definition, read by :mod:`custmgmt.scoring`, :mod:`custmgmt.rating` and
:mod:`custmgmt.segmentation`: anything with ``customer_ids`` and
``table["name"] -> numpy array``. :class:`custmgmt.analytics.features.CustomerFeatures`
is the library's own; :class:`custmgmt.segmentation.Columns` is a plain one over arrays.
(The scorers also accept a bare mapping of names to arrays at run time, rows then
being numbered.)
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from numpy.typing import NDArray

__all__ = ["FeatureTable"]


@runtime_checkable
class FeatureTable(Protocol):
    """A per-customer table: ``customer_ids`` plus named columns of equal length."""

    @property
    def customer_ids(self) -> NDArray[Any]:
        """The customers, one per row."""
        ...

    def __getitem__(self, name: str, /) -> NDArray[Any]:
        """The column called ``name``; raises ``KeyError`` (or a custmgmt error) if absent."""
        ...
