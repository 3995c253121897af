"""The fault matrix for the command, the projections and the FanOut subscribers (see matrix.py)."""

from __future__ import annotations

import pytest
from matrix import cases, check

from scenarios.flow import STREAM_ROLES, SUBSCRIBER_ROLES

pytestmark = pytest.mark.xdist_group("fault-matrix-events")

ROLES = ("place-order", *STREAM_ROLES, *SUBSCRIBER_ROLES)


@pytest.mark.parametrize(("role", "kind"), cases(ROLES))
def test_no_single_fault_breaks_the_contract(deployed, role: str, kind: str):
    check(deployed, role, kind)
