"""The fault matrix for the command, the projections and the FanOut subscribers (see matrix.py)."""

from __future__ import annotations

import pytest
from matrix import cases, check

pytestmark = pytest.mark.xdist_group("fault-matrix-events")

ROLES = ("place-order", "customer-summary", "publisher", "fulfilment", "invoicing", "notifications", "big-orders")


@pytest.mark.parametrize(("role", "kind"), cases(ROLES))
def test_no_single_fault_breaks_the_contract(deployed, role: str, kind: str):
    check(deployed, role, kind)
