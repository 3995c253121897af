"""moto reports each Lambda function with the configuration the program declared.

The local cloud creates functions in moto with what moto accepts (its list of runtimes, no public layers), and
moto's GetFunctionConfiguration has no LoggingConfig or DeadLetterConfig. So after CreateFunction, :func:`declare`
gives moto's model of the function what the program declared (runtime, architectures, tracing, layers, logging,
memory, timeout, environment, ephemeral storage, description, dead-letter queue, reserved concurrency), and while
:func:`reported_by_moto` is active moto's answers include logging and dead-letter configuration: ``aws lambda
get-function-configuration`` and boto3 read the function as AWS would report the deployed stack. The handler still
runs in this process, on this process's Python.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["declare", "reported_by_moto"]

_LOGGING_KEYS = {
    "logFormat": "LogFormat",
    "applicationLogLevel": "ApplicationLogLevel",
    "systemLogLevel": "SystemLogLevel",
    "logGroup": "LogGroup",
}


def declare(account: str, region: str, name: str, inputs: dict[str, Any]) -> None:
    """Give moto's model of function ``name`` the configuration in the Pulumi ``inputs`` that declared it."""
    from moto.awslambda.models import lambda_backends

    model: Any = lambda_backends[account][region].get_function(name)  # attributes beyond its annotations
    model.run_time = inputs.get("runtime") or model.run_time
    model.architectures = list(inputs.get("architectures") or model.architectures)
    model.tracing_config = {"Mode": (inputs.get("tracingConfig") or {}).get("mode") or "PassThrough"}
    model.layers = [{"Arn": str(arn)} for arn in inputs.get("layers") or []]
    model.memory_size = int(inputs.get("memorySize", model.memory_size))
    model.timeout = int(inputs.get("timeout", model.timeout))
    model.environment_vars = {k: str(v) for k, v in ((inputs.get("environment") or {}).get("variables") or {}).items()}
    model.ephemeral_storage = int((inputs.get("ephemeralStorage") or {}).get("size", model.ephemeral_storage))
    model.description = str(inputs.get("description") or "")
    reserved = int(inputs.get("reservedConcurrentExecutions", -1))
    model.reserved_concurrency = reserved if reserved >= 0 else None
    logging = inputs.get("loggingConfig") or {}
    model.localcloud_logging_config = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"} | {
        reported: str(logging[declared]) for declared, reported in _LOGGING_KEYS.items() if logging.get(declared)
    }
    target = (inputs.get("deadLetterConfig") or {}).get("targetArn")
    model.localcloud_dead_letter_config = {"TargetArn": str(target)} if target else None


@contextlib.contextmanager
def reported_by_moto() -> Iterator[None]:
    """moto's function configuration includes the declared LoggingConfig and DeadLetterConfig."""
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction.get_configuration

    def with_declared(function: Any, on_create: bool = False) -> dict[str, Any]:
        config = original(function, on_create)
        logging = getattr(function, "localcloud_logging_config", None)
        if logging is not None:
            config["LoggingConfig"] = dict(logging)
        dead_letter = getattr(function, "localcloud_dead_letter_config", None)
        if dead_letter is not None:
            config["DeadLetterConfig"] = dict(dead_letter)
        return config

    LambdaFunction.get_configuration = with_declared  # type: ignore[method-assign]
    try:
        yield
    finally:
        LambdaFunction.get_configuration = original  # type: ignore[method-assign]
