"""The harness needs only the base install; the local cloud says which extra it needs when it is missing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from harness_projects import REPO, SAMPLE_HANDLERS, SHOP

from serverless_patterns.testing import LOCALCLOUD_INSTALL, MissingExtra, local_cloud

# What the [localcloud] extra brings; made unimportable in the child process below.
EXTRA_MODULES = ("moto", "aws_lambda_powertools")

CHILD = textwrap.dedent(
    f"""
    import sys
    for name in {EXTRA_MODULES!r}:
        sys.modules[name] = None  # as if not installed
    from serverless_patterns import FanOut
    from serverless_patterns.testing import MissingExtra, local_cloud, run_component
    import serverless_patterns.testing.plugin

    run = run_component(lambda: FanOut("events", {{
        "alarm_topic_arn": "arn:aws:sns:us-east-1:123456789012:alarms",
        "handlers_root": {SAMPLE_HANDLERS!r},
        "subscribers": [{{"name": "a", "handler_package": "sample", "handler": "app.handler"}}],
    }}))
    print("functions", len(run.of_type("aws:lambda/function:Function")))
    print("topic", run.named("events", "aws:sns/topic:Topic").state["arn"])
    try:
        with local_cloud("test", {str(SHOP)!r}):
            pass
    except MissingExtra as missing:
        print("missing", missing)
    """
)


def test_mocks_work_without_the_localcloud_extra():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "components"), str(REPO)])}
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "functions 1" in lines
    assert "topic arn:aws:sns:us-east-1:123456789012:events" in lines
    assert (
        "missing the local cloud needs the [localcloud] extra (missing: moto, aws-lambda-powertools): "
        f"{LOCALCLOUD_INSTALL}"
    ) in lines


def test_the_missing_extra_is_named_in_one_line(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "moto", None)

    with pytest.raises(MissingExtra) as missing, local_cloud("test", SHOP):
        pass

    assert str(missing.value) == (
        "the local cloud needs the [localcloud] extra (missing: moto): pip install 'serverless-patterns[localcloud]'"
    )
    assert isinstance(missing.value, ImportError)
