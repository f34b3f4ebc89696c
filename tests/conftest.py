"""Shared test settings: hypothesis profiles for local runs, CI and long sweeps.

The profile is chosen by ``HYPOTHESIS_PROFILE`` (``dev``, ``ci`` or ``sweep``); without
it, ``ci`` when ``CI`` is set and ``dev`` otherwise. Both ``dev`` and ``ci`` run 100
examples per property (fewer where a test asks for fewer).

``sweep`` is the long hostile-input run: 10,000 examples for every property that does
not set its own number, meant for the bad-input sweeps::

    HYPOTHESIS_PROFILE=sweep pytest -p no:cacheprovider \\
        tests/domain/test_bad_input_sweep.py \\
        tests/architecture/test_bad_input_sweep_capabilities.py
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)
settings.register_profile(
    "sweep",
    max_examples=10_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_DEFAULT = "ci" if os.environ.get("CI") else "dev"
# The documented longer run: HYPOTHESIS_PROFILE=long pytest ... (10,000 examples a test).
settings.register_profile("long", deadline=None, max_examples=10_000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or _DEFAULT)
