"""The orders app (dev and prod) and the parcel-tracker example, each recorded once and handed to the pack."""

from __future__ import annotations

import pytest

from guard_harness import ROOT, Deployment
from serverless_patterns.testing import run_stack, stack_config

#: name → (project folder, stack, policy config stage)
STACKS = {
    "dev": (ROOT, "dev", "dev"),
    "prod": (ROOT, "prod", "prod"),
    "example": (ROOT / "examples" / "parcel-tracker", "dev", "dev"),
}


@pytest.fixture(scope="session")
def deployments() -> dict[str, Deployment]:
    recorded: dict[str, Deployment] = {}
    for name, (project, stack, _) in STACKS.items():
        recorded[name] = Deployment(run_stack(stack, project), stack_config(stack, project))
    return recorded
