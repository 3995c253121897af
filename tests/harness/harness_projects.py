"""Paths and constants of the harness tests: fixture projects, the sample handlers, an alarm topic ARN."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
REPO = HERE.parents[1]
SHOP = HERE / "projects" / "shop"  # FanOut + AlarmTopic, its own `components` package, project-level config
OTHER = HERE / "projects" / "other"  # another `components` package of the same name
SAMPLE_HANDLERS = str(REPO / "tests" / "fixtures" / "handlers")
ALARMS = "arn:aws:sns:us-east-1:123456789012:alarms"
