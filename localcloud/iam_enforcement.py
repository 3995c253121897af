"""Every AWS call a handler makes, authorised against its function's role as the program declared it.

On AWS a call the role does not allow fails; moto stores roles and policies but never evaluates them, so a
missing grant used to pass locally. While :meth:`IamEnforcement.installed`, each botocore call made inside an
invocation is turned into the IAM action(s) and resource ARN(s) AWS authorises it with
(:mod:`localcloud.iam_actions`) and evaluated against the identity policies of the function's role: the inline
policies and AWS managed policies recorded by the deployer (:class:`localcloud.deploy.RoleRecord`). A call that is
not allowed raises the ``ClientError`` AWS answers (code, HTTP status and message per service) before it reaches
moto, so the handler's own error handling sees what it would see on AWS; each denial is kept in ``denials`` and
each allowed (action, resource) in ``exercised`` by role. The local cloud's own clients (:meth:`trust`) are exempt:
a fault or a state save that runs inside an invocation is not the handler's call.

The evaluator is moto's own (``moto.iam.access_control.IAMPolicy``, already pinned with moto; Apache-2.0): it
matches Action/NotAction and Resource with ``*`` wildcards and lets an explicit Deny win. The alternatives found
on PyPI evaluate no requests (policyuniverse expands and parses), are unmaintained and AGPL (principalmapper), or
are young single-author tools. moto's evaluator has gaps, covered here rather than guessed around: action names are
matched case-sensitively (documents and requests are lower-cased first, as IAM compares actions), and it knows
neither ``?`` wildcards, ``NotResource`` nor most condition operators (a failed condition even denies an Allow);
it does not escape a pattern's other regular-expression characters (a ``.`` in an ARN matches any character).
The program's identity policies use none of those; a role whose policies do is not judged at all
(:class:`UnsupportedPolicy` says why; its calls pass, listed in ``unjudged`` and ``unchecked``) rather than
judged wrongly, so a program using them still runs locally. Resource policies, KMS key policies, permission
boundaries and the calls the Lambda service makes with the role (polling queues and streams, writing logs) are
not evaluated yet.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from localcloud.deploy import Deployment, RoleRecord
from localcloud.iam_actions import Check, checks_of
from localcloud.public_aws import partition_of
from localcloud.telemetry import current_function

__all__ = ["Denial", "IamEnforcement", "UnsupportedPolicy", "role_documents"]


class UnsupportedPolicy(Exception):
    """A role's policy uses an element the evaluator cannot judge correctly."""


@dataclass(frozen=True)
class Denial:
    function: str
    role: str
    service: str
    operation: str
    action: str
    resource: str
    message: str


# service (botocore's name) → the error code and HTTP status AWS answers a denied call with
_DENIED_AS = {
    "sns": ("AuthorizationError", 403),
    "sqs": ("AccessDenied", 403),
    "cloudwatch": ("AccessDenied", 403),
    "lambda": ("AccessDeniedException", 403),
    "scheduler": ("AccessDeniedException", 403),
}
_DEFAULT_DENIED_AS = ("AccessDeniedException", 400)  # DynamoDB, Step Functions, KMS, EventBridge, Logs (JSON)


def _spelled(service: str, action: str) -> str:
    """The action as the service writes it in its message (SNS upper-cases the prefix, SQS lower-cases all)."""
    prefix, _, name = action.partition(":")
    if service == "sns":
        return f"SNS:{name}"
    if service == "sqs":
        return action.lower()
    return f"{prefix}:{name}"


def role_documents(role: RoleRecord) -> list[str]:
    """The identity policy documents of ``role``: its inline policies and the AWS managed policies attached."""
    documents = list(role.policies.values())
    if role.managed_policy_arns:
        from moto.iam.aws_managed_policies import aws_managed_policies_data

        managed = json.loads(aws_managed_policies_data)
        for arn in role.managed_policy_arns:
            name = arn.rsplit("/", 1)[-1]
            if ":aws:policy/" not in arn or name not in managed:
                raise UnsupportedPolicy(f"role {role.name}: managed policy {arn} is not an AWS managed policy moto has")
            documents.append(json.dumps(managed[name]["Document"]))
    return documents


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _judgeable(role: str, document: str) -> str:
    """``document`` with its actions lower-cased, for moto's case-sensitive matching; refuses what moto misjudges."""
    policy = json.loads(document)
    statements = _as_list(policy.get("Statement", []))
    for statement in statements:
        unsupported = [key for key in ("NotResource", "Condition", "Principal", "NotPrincipal") if key in statement]
        patterns = [str(p) for key in ("Action", "NotAction", "Resource") for p in _as_list(statement.get(key, []))]
        if any("?" in p for p in patterns):
            unsupported.append("a ? wildcard")
        if unsupported:
            sid = statement.get("Sid", "?")
            raise UnsupportedPolicy(f"role {role}: statement {sid} uses {', '.join(unsupported)}, not evaluated here")
        for key in ("Action", "NotAction"):
            if key in statement:
                statement[key] = [str(a).lower() for a in _as_list(statement[key])]
    return json.dumps({**policy, "Statement": statements})


@dataclass
class IamEnforcement:
    """Authorises handlers' AWS calls against their roles (see the module); ``enforce=False`` only records."""

    deployment: Deployment
    enforce: bool = True
    denials: list[Denial] = field(default_factory=list)
    exercised: dict[str, set[Check]] = field(default_factory=dict)  # role name → allowed (action, resource)
    unchecked: set[tuple[str, str, str]] = field(default_factory=set)  # (function, service, operation) not judged
    #: role name → why its policies cannot be judged here; its calls pass unjudged (listed in ``unchecked``).
    unjudged: dict[str, str] = field(default_factory=dict)
    _compiled: dict[tuple[str, ...], list[Any]] = field(default_factory=dict)
    _trusted: dict[int, Any] = field(default_factory=dict)  # id → the local cloud's own clients (kept alive here)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def trust(self, client: Any) -> Any:
        """Exempt ``client``: the local cloud's own calls (a fault or a save running inside an invocation) are not
        the handler's. Returns the client."""
        self._trusted[id(client)] = client
        return client

    def validate(self) -> None:
        """Note each function role whose policies the evaluator cannot judge (a condition, ``NotResource``, a
        managed policy moto lacks): its calls pass unjudged rather than be judged wrongly, and the program still
        runs locally."""
        for function in self.deployment.function_inputs:
            role = self.deployment.role_of(function)
            if role is not None:
                self._judgeable_role(role)

    def _judgeable_role(self, role: RoleRecord) -> bool:
        try:
            self._policies(role)
        except UnsupportedPolicy as why:
            with self._lock:
                self.unjudged[role.name] = str(why)
            return False
        return True

    def _policies(self, role: RoleRecord) -> list[Any]:
        from moto.iam.access_control import IAMPolicy

        documents = tuple(role_documents(role))
        with self._lock:
            if documents not in self._compiled:
                self._compiled[documents] = [IAMPolicy(_judgeable(role.name, d)) for d in documents]
            return self._compiled[documents]

    def decision(self, role: RoleRecord, action: str, resource: str) -> str:
        """``allowed``, ``explicit deny`` or ``implicit deny``, as IAM decides on the role's identity policies."""
        from moto.iam.access_control import PermissionResult

        results = [p.is_action_permitted(action.lower(), resource) for p in self._policies(role)]
        if PermissionResult.DENIED in results:
            return "explicit deny"
        return "allowed" if PermissionResult.PERMITTED in results else "implicit deny"

    def authorize(
        self, function: str, service: str, operation: str, params: dict[str, Any], region: str
    ) -> Denial | None:
        """Evaluate one call of ``function``; records it and returns its denial (None when allowed)."""
        role = self.deployment.role_of(function)
        checks = None if role is None else checks_of(service, operation, params, region, role.arn.split(":")[4])
        if role is None or checks is None or not self._judgeable_role(role):
            with self._lock:
                self.unchecked.add((function, service, operation))
            return None
        for action, resource in checks:  # AWS refuses the whole call for one item it does not allow
            verdict = self.decision(role, action, resource)
            if verdict != "allowed":
                denial = self._denial(function, role, service, operation, check=(action, resource), verdict=verdict)
                with self._lock:
                    self.denials.append(denial)
                return denial
        with self._lock:
            self.exercised.setdefault(role.name, set()).update(checks)
        return None

    def _denial(
        self, function: str, role: RoleRecord, service: str, operation: str, *, check: Check, verdict: str
    ) -> Denial:
        action, resource = check
        account = role.arn.split(":")[4]
        principal = f"arn:{partition_of(self.deployment.region)}:sts::{account}:assumed-role/{role.name}/{function}"
        spelled = _spelled(service, action)
        why = (
            "with an explicit deny in an identity-based policy"
            if verdict == "explicit deny"
            else f"because no identity-based policy allows the {spelled} action"
        )
        message = f"User: {principal} is not authorized to perform: {spelled} on resource: {resource} {why}"
        return Denial(function, role.name, service, operation, action, resource, message)

    @contextlib.contextmanager
    def installed(self) -> Iterator[IamEnforcement]:
        """Authorise every botocore call made inside an invocation while the context lasts."""
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        enforcement = self

        def authorized(client: Any, operation: str, params: dict[str, Any]) -> Any:
            function = current_function()
            if function is not None and id(client) not in enforcement._trusted:
                service = client.meta.service_model.service_name
                denial = enforcement.authorize(function, service, operation, params, client.meta.region_name)
                if denial is not None and enforcement.enforce:
                    raise _access_denied(client, denial)
            return original(client, operation, params)

        BaseClient._make_api_call = authorized  # type: ignore[method-assign]
        try:
            yield self
        finally:
            BaseClient._make_api_call = original  # type: ignore[method-assign]


def _access_denied(client: Any, denial: Denial) -> Exception:
    """The error botocore raises for AWS's answer to the denied call (a modelled exception class when the service
    models the code, else ``ClientError``)."""
    from botocore.exceptions import ClientError

    code, status = _DENIED_AS.get(denial.service, _DEFAULT_DENIED_AS)
    error: dict[str, Any] = {"Code": code, "Message": denial.message}
    if denial.service == "sns":
        error["Type"] = "Sender"
    response: dict[str, Any] = {"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}}
    error_class = client.exceptions.from_code(code)
    if not issubclass(error_class, ClientError):
        error_class = ClientError
    return error_class(response, denial.operation)
