"""The offline mocks moved into the library (:mod:`serverless_patterns.testing.mocks`); imported from here as
before by ``python -m localcloud plan`` and the tests."""

from __future__ import annotations

from serverless_patterns.testing.mocks import ACCOUNT_ID, OfflineMocks

__all__ = ["ACCOUNT_ID", "OfflineMocks"]
