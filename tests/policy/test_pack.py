"""The pack as the Pulumi CLI runs it: its entry point, the analyzer it serves, and the engine's protocol
(configuration, resource and stack analysis, values unknown during preview)."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pulumi_policy.policy as sdk
import pytest
import yaml
from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from guard_harness import POLICY_DIR, ROOT, pack_config
from serverless_guard import iam as guard_iam
from serverless_guard.model import CONFIG_PROPERTIES, StackRule
from serverless_guard.pack import PACK_NAME, RULES, serve
from serverless_patterns.internals import iam as library_iam

STACK = "urn:pulumi:dev::guard::"


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(dict(values))
    return message


@pytest.fixture
def analyzer(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The analyzer the pack serves, started on loopback and stopped at once (the pack blocks until interrupted)."""
    served: list[Any] = []
    register = sdk.analyzer_pb2_grpc.add_AnalyzerServicer_to_server

    def capture(servicer: Any, server: Any) -> None:
        served.append(servicer)
        register(servicer, server)

    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sdk.analyzer_pb2_grpc, "add_AnalyzerServicer_to_server", capture)
    monkeypatch.setattr(sdk.time, "sleep", interrupt)
    serve()
    [servicer] = served
    yield servicer


def test_importing_the_entry_point_builds_the_policies_without_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_server(*_: object, **__: object) -> None:
        raise AssertionError("importing the pack must not start its server")

    monkeypatch.setattr(sdk.grpc, "server", no_server)
    spec = importlib.util.spec_from_file_location("serverless_guard_entry", POLICY_DIR / "__main__.py")
    assert spec is not None and spec.loader is not None
    entry = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(entry)
    assert entry.PACK_NAME == "serverless-patterns"
    assert [p.name for p in entry.POLICIES] == [r.name for r in RULES]
    assert len({r.name for r in RULES}) == len(RULES)


def _pins(path: Path) -> dict[str, str]:
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return dict(line.split("==", 1) for line in lines if "==" in line)


def test_the_pack_project_files() -> None:
    project = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    pack, dev, runtime = (
        _pins(p) for p in (POLICY_DIR / "requirements.txt", ROOT / "requirements-dev.txt", ROOT / "requirements.txt")
    )
    assert pack["pulumi-policy"] == dev["pulumi-policy"] == "1.21.0"
    assert pack["pulumi"] == runtime["pulumi"], "the pack runs the pulumi the project pins"


def test_the_analyzer_serves_every_policy_mandatory_with_its_config_schema(analyzer: Any) -> None:
    info = analyzer.GetAnalyzerInfo(None, None)
    assert info.name == PACK_NAME
    assert [p.name for p in info.policies] == [r.name for r in RULES]
    assert {p.enforcementLevel for p in info.policies} == {proto.MANDATORY}
    schemas = {p.name: dict(p.configSchema.properties) for p in info.policies if p.configSchema.properties}
    assert set(schemas) == {"lambda-latest-runtime", "provider-default-tags", "customer-managed-keys"}
    assert schemas["lambda-latest-runtime"]["runtime"]["default"] == "python3.13"
    assert list(schemas["provider-default-tags"]["requiredTags"]["default"]) == [
        "project",
        "stack",
        "owner",
        "cost-center",
    ]
    assert schemas["customer-managed-keys"]["requireCustomerKeys"]["default"] is False


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_config_files_set_only_what_the_schemas_declare(stage: str) -> None:
    schemas = {r.name: set(r.config) for r in RULES}
    for policy, settings in pack_config(stage).items():
        assert set(settings) <= schemas[policy], f"{policy}: {settings}"
        for key, value in settings.items():
            kind = CONFIG_PROPERTIES[key]["type"]
            assert isinstance(value, {"string": str, "boolean": bool, "array": list}[kind])
    assert pack_config(stage)["customer-managed-keys"]["requireCustomerKeys"] is (stage == "prod")


def _analyze(analyzer: Any, type_: str, name: str, properties: Mapping[str, Any]) -> list[Any]:
    request = proto.AnalyzeRequest(type=type_, properties=_struct(properties), urn=f"{STACK}{type_}::{name}", name=name)
    return list(analyzer.Analyze(request, None).diagnostics)


def test_a_resource_violation_reaches_the_engine_as_mandatory(analyzer: Any) -> None:
    function = {
        "name": "old",
        "runtime": "python3.12",
        "architectures": ["arm64"],
        "memorySize": 256,
        "timeout": 30,
        "tracingConfig": {"mode": "Active"},
        "loggingConfig": {"logFormat": "JSON"},
    }
    [diagnostic] = _analyze(analyzer, "aws:lambda/function:Function", "old", function)
    assert diagnostic.policyName == "lambda-latest-runtime"
    assert diagnostic.enforcementLevel == proto.MANDATORY
    assert "Lambda function 'old': runs python3.12, not python3.13. Fix:" in diagnostic.message


def test_the_engines_config_reaches_the_policies(analyzer: Any) -> None:
    table = {"name": "orders", "pointInTimeRecovery": {"enabled": True}}
    assert _analyze(analyzer, "aws:dynamodb/table:Table", "orders", table) == []
    configured = {name: proto.PolicyConfig(properties=_struct(values)) for name, values in pack_config("prod").items()}
    analyzer.Configure(proto.ConfigureAnalyzerRequest(policyConfig=configured), None)
    [diagnostic] = _analyze(analyzer, "aws:dynamodb/table:Table", "orders", table)
    assert diagnostic.policyName == "customer-managed-keys"


def _resource(type_: str, name: str, properties: Mapping[str, Any], **dependencies: list[str]) -> Any:
    return proto.AnalyzerResource(
        type=type_,
        name=name,
        urn=f"{STACK}{type_}::{name}",
        properties=_struct(properties),
        dependencies=[u for urns in dependencies.values() for u in urns],
        propertyDependencies={k: proto.AnalyzerPropertyDependencies(urns=v) for k, v in dependencies.items()},
    )


def test_a_reference_unknown_at_preview_is_resolved_by_its_property_dependencies(analyzer: Any) -> None:
    queue = "aws:sqs/queue:Queue"
    dlq = _resource(queue, "work-dlq", {"name": "work-dlq", "arn": UNKNOWN_STRING_VALUE})
    work = _resource(
        queue,
        "work",
        {"name": "work", "arn": UNKNOWN_STRING_VALUE, "redrivePolicy": UNKNOWN_STRING_VALUE},
        redrivePolicy=[dlq.urn],
    )
    response = analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=[dlq, work]), None)
    found = {(d.policyName, d.urn) for d in response.diagnostics}
    # The DLQ is known for one through the redrive policy's dependency: judged on its retention, not on a redrive.
    assert ("sqs-dlq-retention", dlq.urn) in found
    assert ("sqs-redrive-policy", dlq.urn) not in found
    assert ("sqs-redrive-policy", work.urn) not in found
    assert not [d.message for d in response.diagnostics if "can't run policy" in d.message]


def test_an_unknown_value_is_not_judged_during_preview(analyzer: Any) -> None:
    function = {"name": "fn", "tracingConfig": {"mode": UNKNOWN_STRING_VALUE}, "runtime": UNKNOWN_STRING_VALUE}
    policies = {d.policyName for d in _analyze(analyzer, "aws:lambda/function:Function", "fn", function)}
    assert "lambda-xray-tracing" not in policies
    assert "lambda-latest-runtime" not in policies
    assert "lambda-arm64" in policies  # what is known is still judged


def test_the_star_resource_allow_list_is_the_librarys() -> None:
    assert dict(guard_iam.STAR_RESOURCE_ACTIONS) == dict(library_iam.STAR_RESOURCE_ACTIONS)
    assert dict(guard_iam.DOCUMENTED_SERVICE_WILDCARDS) == dict(library_iam.DOCUMENTED_SERVICE_WILDCARDS)


def test_the_config_schema_defaults_are_the_guard_defaults() -> None:
    schema_defaults = {key: json.loads(json.dumps(p["default"])) for key, p in CONFIG_PROPERTIES.items()}
    assert schema_defaults == {
        "runtime": "python3.13",
        "requiredTags": ["project", "stack", "owner", "cost-center"],
        "requireCustomerKeys": False,
    }


def test_the_guide_lists_every_policy_as_the_pack_declares_it() -> None:
    guide = (ROOT / "docs" / "guardrails.md").read_text()
    table = guide.split("| policy | kind | what it checks | stands for |", 1)[1].split("\n\n", 1)[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.strip().splitlines()[1:]]
    expected = [
        [f"`{r.name}`", "stack" if isinstance(r, StackRule) else "resource", r.description, ", ".join(r.cdk_nag) or "—"]
        for r in RULES
    ]
    assert rows == expected
