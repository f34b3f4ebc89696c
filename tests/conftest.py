"""Shared test settings: hypothesis profiles for local runs and CI."""

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
settings.load_profile("ci" if os.environ.get("CI") else "dev")
# The documented longer run: HYPOTHESIS_PROFILE=long pytest ... (10,000 examples a test).
settings.register_profile("long", deadline=None, max_examples=10_000)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
