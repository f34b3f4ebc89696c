"""``PrivacyRepositoryContract``'s key fingerprint test skips, with its reason, for a
host repository without the optional ``KeyFingerprints`` (the bundled stores run it:
``test_privacy_repositories.py``, ``tests/postgres/test_postgres_privacy.py``)."""

from __future__ import annotations

import unittest
from typing import Any

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.privacy.ports import KeyFingerprints
from custmgmt.testing import PrivacyRepositoryContract


class _WithoutFingerprints:
    """A privacy repository of a host's that keeps no fingerprints."""

    def __init__(self) -> None:
        self._inner = MemoryStore().privacy

    def __getattr__(self, name: str) -> Any:
        if name in ("key_fingerprints", "put_key_fingerprint"):
            raise AttributeError(name)
        return getattr(self._inner, name)


class _Suite(PrivacyRepositoryContract):
    def make_repository(self) -> Any:
        return _WithoutFingerprints()


def test_a_repository_without_key_fingerprints_skips_that_test_naming_why() -> None:
    suite = _Suite()
    suite.setup_method()
    assert not isinstance(suite.repository(), KeyFingerprints)
    with pytest.raises(unittest.SkipTest, match="_WithoutFingerprints does not implement"):
        suite.test_key_fingerprints_are_recorded_once_and_read_back()
    suite.teardown_method()


class TestAHostRepositoryWithoutFingerprints(PrivacyRepositoryContract):
    """Run as a host runs the suite: every other test passes, the fingerprint test is
    reported as a skip with the reason above."""

    def make_repository(self) -> Any:
        return _WithoutFingerprints()
