"""A log scale fitted on a population whose largest value is tiny (1e-308) still
maps a large later value to 1, without numpy's overflow warning (found by
hypothesis in ``test_scoring_frozen_bounds``)."""

from __future__ import annotations

import warnings

import numpy as np

from custmgmt.scoring.normalise import Direction, Normalisation, fit_scale


def test_a_later_value_far_past_a_tiny_maximum_is_the_top_without_a_warning() -> None:
    scale, fitted = fit_scale(
        Normalisation.LOG, np.array([6.46989241922995e-308]), direction=Direction.HIGHER
    )
    assert fitted.tolist() == [1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = scale.transform(np.array([112519.0, 0.0]))
    assert out.tolist() == [1.0, 0.0]
    assert scale.transform_one(112519.0) == 1.0


def test_a_min_max_scale_with_a_tiny_span_maps_a_far_later_value_to_1_without_a_warning() -> None:
    # Found by hypothesis in test_scoring_frozen_bounds: (x - low) / 4.3e-193 overflowed.
    scale, _ = fit_scale(
        Normalisation.MIN_MAX, np.array([0.0, 4.317621299283234e-193]),
        direction=Direction.HIGHER,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = scale.transform(np.array([7.7617581686567825e115, -7.7617581686567825e115]))
    assert out.tolist() == [1.0, 0.0]
    assert scale.transform_one(7.7617581686567825e115) == 1.0
