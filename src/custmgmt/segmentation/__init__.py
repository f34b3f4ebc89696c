"""Customer segmentation: rules as data, ready-made schemes, RFM, clusters, migration.

* :mod:`~custmgmt.segmentation.rules` -- composable predicates over feature columns
  (``feature("annual_spend") > 50_000``), vectorised, serialisable, explainable.
* :mod:`~custmgmt.segmentation.schemes` -- a :class:`Scheme` puts each customer in
  exactly one segment: the first whose rule holds, else the default.
* :mod:`~custmgmt.segmentation.presets` -- value tiers, activity, lifecycle, quality
  tiers, acquisition and retention groups.
* :mod:`~custmgmt.segmentation.inputs` -- the feature table these read.
* :mod:`~custmgmt.segmentation.rfm` -- R, F, M scores and validated segment maps.
* :mod:`~custmgmt.segmentation.clustering` -- seeded k-means and cluster profiles.
* :mod:`~custmgmt.segmentation.migration` -- segment transitions between two dates.
* :mod:`~custmgmt.segmentation.report` -- the segment report (sizes, RFM, the churn
  list): what ``custmgmt segment`` prints, as
  :func:`custmgmt.segmentation.report.segment_report` (also ``custmgmt.segment_report``;
  not imported here, since it reads :mod:`custmgmt.churn`, which reads this package).

See ``docs/segmentation-and-churn.md`` for a tour.
"""

from custmgmt.segmentation.clustering import (
    Clustering,
    ClusterProfile,
    KMeans,
    cluster_customers,
    standardise,
)
from custmgmt.segmentation.inputs import (
    DERIVED_FEATURES,
    add_derived_features,
    segment_features,
)
from custmgmt.segmentation.migration import Migration, migrate, migration_matrix
from custmgmt.segmentation.presets import (
    acquisition_groups,
    activity,
    lifecycle,
    quality_tiers,
    retention_groups,
    shipped_schemes,
    value_tiers,
)
from custmgmt.segmentation.rfm import (
    NO_PURCHASE,
    RFM,
    TEN_SEGMENTS,
    RFMScores,
    RFMSegmentMap,
    RFMSummaryRow,
)
from custmgmt.segmentation.rules import (
    AllOf,
    Always,
    AnyOf,
    Between,
    Compare,
    Feature,
    Not,
    QuantileCut,
    Rule,
    feature,
    rule_from_dict,
    rule_from_json,
)
from custmgmt.segmentation.schemes import Scheme, Segment, Segmentation
from custmgmt.segmentation.table import Columns, FeatureTable

__all__ = [
    "DERIVED_FEATURES",
    "NO_PURCHASE",
    "RFM",
    "TEN_SEGMENTS",
    "AllOf",
    "Always",
    "AnyOf",
    "Between",
    "ClusterProfile",
    "Clustering",
    "Columns",
    "Compare",
    "Feature",
    "FeatureTable",
    "KMeans",
    "Migration",
    "Not",
    "QuantileCut",
    "RFMScores",
    "RFMSegmentMap",
    "RFMSummaryRow",
    "Rule",
    "Scheme",
    "Segment",
    "Segmentation",
    "acquisition_groups",
    "activity",
    "add_derived_features",
    "cluster_customers",
    "feature",
    "lifecycle",
    "migrate",
    "migration_matrix",
    "quality_tiers",
    "retention_groups",
    "rule_from_dict",
    "rule_from_json",
    "segment_features",
    "shipped_schemes",
    "standardise",
    "value_tiers",
]
