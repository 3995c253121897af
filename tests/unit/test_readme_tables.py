"""The README's argument tables are the settings classes' own declarations (defaults, ranges, notes)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs"))
from settings_tables import README, table_for, targets

TARGETS = targets(README.read_text())


EXPECTED = {
    "serverless_patterns.blocks.queue.QueueSettings",
    "serverless_patterns.blocks.customer_key.CustomerKeySettings",
    "serverless_patterns.blocks.function.FunctionSettings",
    "serverless_patterns.blocks.function.AsyncInvokeSettings",
    "serverless_patterns.blocks.function.FunctionAlarmSettings",
    "serverless_patterns.blocks.function.FunctionVpcSettings",
    "serverless_patterns.blocks.table.TableSettings",
    "serverless_patterns.blocks.table.GlobalIndexSettings",
    "serverless_patterns.blocks.alarm_topic.AlarmTopicSettings",
    "serverless_patterns.patterns.cqrs.CqrsSettings",
    "serverless_patterns.patterns.cqrs.WriteTableSettings",
    "serverless_patterns.patterns.cqrs.ExistingWriteTableSettings",
    "serverless_patterns.patterns.cqrs.ReadModelSettings",
    "serverless_patterns.patterns.cqrs.CommandHandlerSettings",
    "serverless_patterns.patterns.cqrs.ProjectionSettings",
    "serverless_patterns.patterns.saga.SagaSettings",
    "serverless_patterns.patterns.saga.SagaStepSettings",
    "serverless_patterns.patterns.saga.SagaHandlerSettings",
    "serverless_patterns.patterns.saga.SagaRetrySettings",
    "serverless_patterns.patterns.fanout.FanOutSettings",
    "serverless_patterns.patterns.fanout.FanOutSubscriberSettings",
    "serverless_patterns.patterns.scheduled_job.ScheduledJobSettings",
}


def test_the_readme_documents_the_settings_of_every_block_and_pattern():
    assert set(TARGETS) >= EXPECTED


@pytest.mark.parametrize("target", TARGETS)
def test_each_table_is_generated_from_its_settings(target: str):
    text = README.read_text()
    assert table_for(target) in text, (
        f"the README's table for {target} is stale: run `python docs/settings_tables.py`\n{table_for(target)}"
    )
