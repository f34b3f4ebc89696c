"""Demo section: customer-lifetime models and the customers worth the most."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from custmgmt.analytics.clv import analyse_clv
from custmgmt.analytics.frames import OrderFrame

if TYPE_CHECKING:
    from custmgmt.cli.demo_context import DemoContext

__all__ = ["demo_section"]


def demo_section(ctx: DemoContext) -> None:
    """Fit BG/NBD, Pareto/NBD and Gamma-Gamma to the demo store's orders and list the
    customers with the highest predicted 12-month lifetime value.

    Runs the same library service as ``custmgmt clv``
    (:func:`custmgmt.analytics.clv.analyse_clv`) on the order frame an earlier section
    left in ``ctx.shared["order_frame"]``, and leaves its
    :class:`~custmgmt.analytics.clv.ClvReport` in ``ctx.shared["clv"]``.
    """
    orders = ctx.shared.get("order_frame")
    if orders is None:
        orders = OrderFrame.from_store(ctx.store, currency="CNY", as_of=ctx.as_of)
        ctx.shared["order_frame"] = orders
    ctx.heading("Customer lifetime value (BG/NBD, Pareto/NBD, Gamma-Gamma)")
    if importlib.util.find_spec("scipy") is None:  # pragma: no cover - optional extra
        ctx.print("skipped: the lifetime models need scipy (pip install 'custmgmt[scipy]')")
        return
    report = analyse_clv(orders, as_of=ctx.as_of)
    ctx.shared["clv"] = report
    ctx.out.write(report.render(top=10))
