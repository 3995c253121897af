"""The pack's policies (the ``pulumi_policy`` objects the pack serves) run over recorded Pulumi programs.

A recorded run is handed over as the engine hands a deployment to a policy pack: each resource's inputs to the
resource validations, every resource's outputs (the mocks' state) with parents and dependencies to the stack
validations, and the pack config with each policy's schema defaults filled in, as the CLI does. Resources on the
default AWS provider get that provider, built from the stack's ``aws:`` config as the engine builds it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

from serverless_guard.pack import policies
from serverless_patterns.testing import OfflineMocks, ProgramRun, RecordedResource, run_declarations

ROOT = Path(__file__).resolve().parents[2]
POLICY_DIR = ROOT / "policy"
POLICIES: dict[str, Policy] = {p.name: p for p in policies()}
_DEFAULT_PROVIDER = "default"


@dataclass(frozen=True)
class Found:
    """One violation: the policy, the resource it names (by URN and name) and the message."""

    policy: str
    urn: str
    name: str
    message: str


def pack_config(stage: str) -> dict[str, dict[str, Any]]:
    """``policy/policy-config.<stage>.json``."""
    return json.loads((POLICY_DIR / f"policy-config.{stage}.json").read_text())


def _policy_config(policy: Policy, config: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    """A policy's config as the CLI passes it: its schema's defaults, then the config file's values."""
    schema = policy.config_schema
    merged = {k: v["default"] for k, v in (schema.properties if schema else {}).items() if "default" in v}
    merged.update((config or {}).get(policy.name, {}))
    return merged


def _options(resource: RecordedResource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        resource.protect,
        list(resource.ignore_changes),
        None,
        [],
        PolicyCustomTimeouts(0, 0, 0),
        [],
        resource.parent_urn or None,
    )


def outputs(resource: RecordedResource) -> dict[str, Any]:
    """The outputs AWS would return: what the mocks computed, and every input as given (providers echo inputs;
    the offline mocks give a TopicPolicy an ``arn`` of its own, where AWS's is the topic's)."""
    return copy.deepcopy({**resource.state, **resource.inputs})


class Deployment:
    """A recorded program as a policy pack sees it."""

    def __init__(self, run: ProgramRun, stack_config: Mapping[str, str] | None = None) -> None:
        self.run = run
        self.resources = list(run.resources)
        self._default_provider: RecordedResource | None = None
        if any(r.custom and r.type.startswith("aws:") and not r.provider for r in self.resources):
            self._default_provider = self._provider_from_config(stack_config or {})
            self.resources.insert(0, self._default_provider)
        self._by_urn = {r.urn: r for r in self.resources}

    def _provider_from_config(self, config: Mapping[str, str]) -> RecordedResource:
        inputs = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith("aws:")}
        urn = f"urn:pulumi:{self.run.stack}::{self.run.project}::pulumi:providers:aws::{_DEFAULT_PROVIDER}"
        return RecordedResource(urn, "pulumi:providers:aws", _DEFAULT_PROVIDER, "", "", True, inputs, dict(inputs))

    def provider_of(self, resource: RecordedResource) -> RecordedResource | None:
        if not resource.custom or resource.type.startswith("pulumi:providers:"):
            return None
        if not resource.provider:
            return self._default_provider
        return self._by_urn.get(resource.provider.rsplit("::", 1)[0])

    def resource_args(self, resource: RecordedResource, config: Mapping[str, Any]) -> ResourceValidationArgs:
        provider = self.provider_of(resource)
        return ResourceValidationArgs(
            resource.type,
            unknown_checking_proxy(copy.deepcopy(resource.inputs)),
            resource.urn,
            resource.name,
            _options(resource),
            PolicyProviderResource(provider.type, provider.inputs, provider.urn, provider.name) if provider else None,
            config,
        )

    def stack_args(self, config: Mapping[str, Any]) -> StackValidationArgs:
        judged = {
            r.urn: PolicyResource(
                r.type, unknown_checking_proxy(outputs(r)), r.urn, r.name, _options(r), None, None, [], {}
            )
            for r in self.resources
        }
        for r in self.resources:
            judged[r.urn].parent = judged.get(r.parent_urn)
            judged[r.urn].dependencies = [judged[d] for d in r.dependencies if d in judged]
        return StackValidationArgs(list(judged.values()), config)

    def violations(self, policy_name: str, config: Mapping[str, Mapping[str, Any]] | None = None) -> list[Found]:
        """What ``policy_name`` reports over the deployment, as the engine would collect it."""
        policy = POLICIES[policy_name]
        settings = _policy_config(policy, config)
        found: list[Found] = []

        def collector(default_urn: str) -> Callable[[str, str | None], None]:
            def report(message: str, urn: str | None = None) -> None:
                where = urn or default_urn
                name = self._by_urn[where].name if where in self._by_urn else ""
                found.append(Found(policy_name, where, name, message))

            return report

        if isinstance(policy, ResourceValidationPolicy):
            for resource in self.resources:
                policy.validate(self.resource_args(resource, settings), collector(resource.urn))
        elif isinstance(policy, StackValidationPolicy):
            policy.validate(self.stack_args(settings), collector(""))
        return found

    def all_violations(self, config: Mapping[str, Mapping[str, Any]] | None = None) -> list[Found]:
        return [v for name in POLICIES for v in self.violations(name, config)]


def declared(build: Callable[[], object], stack_config: Mapping[str, str] | None = None) -> Deployment:
    """The resources ``build`` declares (with the real pulumi-aws SDK under offline mocks) as a deployment."""
    return Deployment(run_declarations(OfflineMocks(), build, project="guard"), stack_config)
