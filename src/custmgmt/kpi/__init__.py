"""KPIs, analysis and reports: measured figures, targets and their renderings.

The KPIs (:mod:`custmgmt.kpi.measures`) are pure functions of the columnar frames over
an explicit :class:`Period`; :class:`KpiReport` compares a baseline period with a
current one against :class:`Target` values and renders itself as text, versioned JSON
or one self-contained HTML file with inline SVG charts. ``docs/kpi.md`` walks through it.
"""

from __future__ import annotations

from custmgmt.kpi.figures import Figure, Period, rate, wilson_interval
from custmgmt.kpi.inputs import CustomerAttributes, KpiInputs
from custmgmt.kpi.measures import (
    Breakdown,
    CohortMatrix,
    GroupedSales,
    Trend,
    average_order_value,
    breakdown,
    cancellation_rate,
    churn_rate,
    cohort_matrix,
    complaint_rate,
    high_value_ratio,
    high_value_threshold,
    linear_trend,
    moving_average,
    net_sales,
    period_over_period,
    referral_rate,
    repeat_purchase_rate,
    repurchase_rate,
    retention_rate,
    return_rate,
    rfm_grid,
    sales_by_category,
    sales_by_period,
    satisfaction,
    sla_attainment_by_star,
)
from custmgmt.kpi.report import (
    DEFAULT_TARGETS,
    KPI_LABELS,
    KpiReport,
    SummaryTemplate,
    Target,
    TargetResult,
)

__all__ = [
    "DEFAULT_TARGETS",
    "KPI_LABELS",
    "Breakdown",
    "CohortMatrix",
    "CustomerAttributes",
    "Figure",
    "GroupedSales",
    "KpiInputs",
    "KpiReport",
    "Period",
    "SummaryTemplate",
    "Target",
    "TargetResult",
    "Trend",
    "average_order_value",
    "breakdown",
    "cancellation_rate",
    "churn_rate",
    "cohort_matrix",
    "complaint_rate",
    "high_value_ratio",
    "high_value_threshold",
    "linear_trend",
    "moving_average",
    "net_sales",
    "period_over_period",
    "rate",
    "referral_rate",
    "repeat_purchase_rate",
    "repurchase_rate",
    "retention_rate",
    "return_rate",
    "rfm_grid",
    "sales_by_category",
    "sales_by_period",
    "satisfaction",
    "sla_attainment_by_star",
    "wilson_interval",
]
