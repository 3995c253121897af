"""The fault matrix: every function of the orders flow x every fault kind that applies to it."""

from __future__ import annotations

import pytest

from localcloud.engine import LocalCloud
from scenarios.campaign import run_fault_case
from scenarios.flow import FlowFunctions, kinds_for


def cases(roles: tuple[str, ...]) -> list[object]:
    return [pytest.param(role, kind, id=f"{role}-{kind}") for role in roles for kind in kinds_for(role)]


def check(deployed: tuple[LocalCloud, FlowFunctions], role: str, kind: str) -> None:
    cloud, flow = deployed
    result = run_fault_case(cloud, flow, role, kind, tag=f"{role}-{kind}")
    assert result.violations == [], f"{role} x {kind}: orders ended {result.statuses}"
    assert result.statuses and all(s in {"CONFIRMED", "CANCELLED", "EXPIRED"} for s in result.statuses)
