"""The fault matrix for the checkout saga's steps and compensations and the expiry job (see matrix.py)."""

from __future__ import annotations

import pytest
from matrix import cases, check

from scenarios.flow import SAGA_ROLES

pytestmark = pytest.mark.xdist_group("fault-matrix-saga")

ROLES = (*SAGA_ROLES, "expire-orders")


@pytest.mark.parametrize(("role", "kind"), cases(ROLES))
def test_no_single_fault_breaks_the_contract(deployed, role: str, kind: str):
    check(deployed, role, kind)
