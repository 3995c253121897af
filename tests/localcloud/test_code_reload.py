"""Handler code edited on disk is reloaded into the running local cloud, as ``sam local`` re-reads it."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.engine import LocalCloud

SHOP = Path(__file__).parents[1] / "harness" / "projects" / "shop"
CONSUMER = "harness-shop-test-orders-audit-consumer"


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[LocalCloud, Path]]:
    project = tmp_path / "shop"
    shutil.copytree(SHOP, project)
    with LocalCloud.started("test", project=project, echo_logs=True) as cloud:
        yield cloud, project


def _audit(cloud: LocalCloud, order_id: str) -> list[str]:
    """Publish an order event; the messages the consumer logged for it."""
    cloud.client("sns").publish(TopicArn=cloud.outputs["topic_arn"], Message=json.dumps({"order_id": order_id}))
    cloud.drain()
    logs = cloud.client("logs").filter_log_events(
        logGroupName=cloud.lambda_logs.group(CONSUMER), filterPattern=f'"{order_id}"'
    )["events"]
    return [json.loads(e["message"])["message"] for e in logs]


def test_an_edited_handler_is_reloaded_into_a_new_execution_environment(shop: tuple[LocalCloud, Path]):
    cloud, project = shop
    echoed = io.StringIO()
    cloud.logs.passthrough = echoed
    assert cloud.reload_changed_code() == [], "nothing changed since deploy"
    assert _audit(cloud, "o-1") == ["audited"]
    first_stream = cloud.lambda_logs.stream(CONSUMER)

    app = project / "handlers" / "audit" / "app.py"
    app.write_text(app.read_text().replace('logger.info("audited"', 'logger.info("audited by the new code"'))
    assert cloud.reload_changed_code() == [CONSUMER]
    assert cloud.reload_changed_code() == [], "reloaded once"

    assert _audit(cloud, "o-2") == ["audited by the new code"]
    second_stream = cloud.lambda_logs.stream(CONSUMER)
    assert second_stream != first_stream, "a cold start, in a new log stream"
    second = cloud.client("logs").get_log_events(
        logGroupName=cloud.lambda_logs.group(CONSUMER), logStreamName=second_stream, startFromHead=True
    )["events"]
    assert second[0]["message"].startswith("INIT_START ")

    code = cloud.client("lambda").get_function(FunctionName=CONSUMER)["Configuration"]["CodeSha256"]
    loaded = cloud.deployment.functions[CONSUMER].code_dir / "audit" / "app.py"
    assert "audited by the new code" in loaded.read_text()
    assert code == cloud.code.sources[CONSUMER].sha256_b64 != _sha256_b64(Path(cloud.deployment.archives[CONSUMER]))

    console = echoed.getvalue()
    assert f"[{CONSUMER}] INIT_START " in console and f"[{CONSUMER}] START RequestId: " in console
    assert f"[{CONSUMER}] REPORT RequestId: " in console, "the platform lines are echoed with the handler's"


def test_a_touched_but_unchanged_handler_is_not_reloaded(shop: tuple[LocalCloud, Path]):
    cloud, project = shop
    app = project / "handlers" / "audit" / "app.py"
    app.write_text(app.read_text() + "\n")
    app.write_text(app.read_text().removesuffix("\n"))
    assert cloud.reload_changed_code() == []


def _sha256_b64(path: Path) -> str:
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def test_a_handler_whose_init_fails_starts_afresh_on_each_invocation(shop: tuple[LocalCloud, Path]):
    cloud, project = shop
    app = project / "handlers" / "audit" / "app.py"
    app.write_text(app.read_text() + '\nraise RuntimeError("broken at import")\n')
    assert cloud.reload_changed_code() == [CONSUMER]
    cloud.client("sns").publish(TopicArn=cloud.outputs["topic_arn"], Message='{"order_id": "o-3"}')
    cloud.drain()
    failed = [i for i in cloud.stats.invocations if i.function == CONSUMER]
    assert len(failed) > 1 and all(i.error and i.error.error_type == "RuntimeError" for i in failed)
    streams = cloud.client("logs").describe_log_streams(logGroupName=cloud.lambda_logs.group(CONSUMER))["logStreams"]
    assert len(streams) == len(failed), "each invocation after a failed init is a cold start, in a new stream"
    errors = cloud.client("logs").filter_log_events(
        logGroupName=cloud.lambda_logs.group(CONSUMER), filterPattern='"[ERROR] RuntimeError: broken at import"'
    )["events"]
    assert len(errors) == len(failed), "the runtime logs each unhandled error, with its trace"
    assert all("Traceback" in e["message"] or 'File "' in e["message"] for e in errors)
