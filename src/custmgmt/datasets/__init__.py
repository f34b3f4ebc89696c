"""Seeded synthetic stores for demos, tests and benchmarks.

As scikit-learn's and lifetimes' datasets: the same arguments (seed included) always
give the same data, and nothing depends on the clock (``as_of`` defaults to the fixed
:data:`DEFAULT_AS_OF`). One generative model, two ways out:

* **arrays** (:func:`make_order_arrays`, :func:`make_arrays` ...): columnar numpy
  arrays with no Python objects, millions of orders per second;
* **objects** (:func:`make_dataset`): :class:`~custmgmt.domain.Customer`,
  :class:`~custmgmt.domain.Order` and :class:`~custmgmt.domain.Interaction` objects
  materialised from those same arrays chunk by chunk, and :func:`load_into` to write
  them through any :class:`~custmgmt.ports.Store`.

The model: mixed Chinese and English names; Chinese regions, cities and addresses;
ages, genders, occupations, acquisition channels, business customers; each customer
buys as a Poisson process while alive and drops out after each purchase with their
own probability (BG/NBD), so many go quiet; lognormal order values around a
heavy-tailed personal spend level; preferred categories; cancellations and (partial)
returns; a shopping funnel of browse/search/favorite/cart events, prospects who never
buy, reviews whose ratings follow satisfaction, returns and complaints, complaints by
category, inquiries, feedback, shares, follows and referrals.

>>> from custmgmt.datasets import make_order_arrays
>>> orders = make_order_arrays(10_000, 1_000, seed=0)
>>> orders.amount.dtype.name, orders.placed_at.dtype.name, orders.currency
('int64', 'int64', 'CNY')
"""

from custmgmt.datasets.arrays import (
    DEFAULT_AS_OF,
    CustomerArrays,
    InteractionArrays,
    OrderArrays,
    SyntheticArrays,
    make_arrays,
    make_customer_arrays,
    make_interaction_arrays,
    make_order_arrays,
)
from custmgmt.datasets.load import LoadReport, ProgressCallback, load_into
from custmgmt.datasets.objects import CHINA_TZ, DEFAULT_CHUNK_SIZE, SyntheticDataset, make_dataset

__all__ = [
    "CHINA_TZ",
    "DEFAULT_AS_OF",
    "DEFAULT_CHUNK_SIZE",
    "CustomerArrays",
    "InteractionArrays",
    "LoadReport",
    "OrderArrays",
    "ProgressCallback",
    "SyntheticArrays",
    "SyntheticDataset",
    "load_into",
    "make_arrays",
    "make_customer_arrays",
    "make_dataset",
    "make_interaction_arrays",
    "make_order_arrays",
]
