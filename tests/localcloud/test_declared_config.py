"""Lambda reports each deployed function as the program declared it (runtime, architecture, tracing, layers,
logging, sizes, environment), read through boto3 as `aws lambda get-function-configuration` would."""

from __future__ import annotations

import io
import zipfile

import boto3
from moto import mock_aws

from localcloud.declared_config import declare, reported_by_moto
from localcloud.engine import LocalCloud
from localcloud.public_aws import public_parameter
from serverless_patterns.internals.runtime import ARCHITECTURE, LAMBDA_RUNTIME, powertools_layer_parameter


def test_every_function_is_reported_with_its_declared_configuration(cloud: LocalCloud):
    client = cloud.client("lambda")
    assert cloud.deployment.function_inputs.keys() == cloud.deployment.functions.keys()
    for name, declared in cloud.deployment.function_inputs.items():
        config = client.get_function_configuration(FunctionName=name)
        logging = declared["loggingConfig"]
        assert {
            "Runtime": config["Runtime"],
            "Architectures": config["Architectures"],
            "TracingConfig": config["TracingConfig"],
            "Layers": [layer["Arn"] for layer in config["Layers"]],
            "LoggingConfig": config["LoggingConfig"],
            "MemorySize": config["MemorySize"],
            "Timeout": config["Timeout"],
            "Environment": config["Environment"]["Variables"],
            "Description": config["Description"],
        } == {
            "Runtime": declared["runtime"],
            "Architectures": declared["architectures"],
            "TracingConfig": {"Mode": declared["tracingConfig"]["mode"]},
            "Layers": declared["layers"],
            "LoggingConfig": {
                "LogFormat": logging["logFormat"],
                "ApplicationLogLevel": logging["applicationLogLevel"],
                "SystemLogLevel": logging["systemLogLevel"],
                "LogGroup": logging["logGroup"],
            },
            "MemorySize": declared["memorySize"],
            "Timeout": declared["timeout"],
            "Environment": declared["environment"]["variables"],
            "Description": declared["description"],
        }, name
        assert config["EphemeralStorage"] == {"Size": (declared.get("ephemeralStorage") or {}).get("size", 512)}
        assert "DeadLetterConfig" not in config or config["DeadLetterConfig"] == {
            "TargetArn": declared["deadLetterConfig"]["targetArn"]
        }
        reserved = int(declared.get("reservedConcurrentExecutions", -1))
        concurrency = client.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
        assert concurrency == (reserved if reserved >= 0 else None), name
        assert client.get_function(FunctionName=name)["Configuration"]["Runtime"] == declared["runtime"]


def test_the_stack_declares_the_librarys_runtime_architecture_and_powertools_layer(cloud: LocalCloud):
    """What the program declares by default, as AWS would report it (not what the local cloud created in moto)."""
    region = cloud.deployment.region
    parameter = public_parameter(powertools_layer_parameter(LAMBDA_RUNTIME, ARCHITECTURE), region)
    assert parameter is not None
    place_order = cloud.client("lambda").get_function_configuration(FunctionName=cloud.outputs["place_order_function"])
    assert place_order["Runtime"] == LAMBDA_RUNTIME == "python3.13"
    assert place_order["Architectures"] == [ARCHITECTURE] == ["arm64"]
    assert place_order["TracingConfig"] == {"Mode": "Active"}
    assert [layer["Arn"] for layer in place_order["Layers"]] == [parameter["value"]]
    assert place_order["LoggingConfig"]["LogFormat"] == "JSON"
    assert place_order["LoggingConfig"]["LogGroup"] == f"/aws/lambda/{cloud.outputs['place_order_function']}"


def test_reserved_concurrency_and_a_dead_letter_queue_are_reported_when_declared():
    with mock_aws(), reported_by_moto():
        iam, client = boto3.client("iam", region_name="us-east-1"), boto3.client("lambda", region_name="us-east-1")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("app.py", "def handler(event, context):\n    return event\n")
        created = client.create_function(
            FunctionName="f",
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": archive.getvalue()},
        )
        account = created["FunctionArn"].split(":")[4]
        dlq = f"arn:aws:sqs:us-east-1:{account}:f-dlq"
        declare(account, "us-east-1", "f", {"reservedConcurrentExecutions": 5, "deadLetterConfig": {"targetArn": dlq}})
        assert client.get_function_concurrency(FunctionName="f")["ReservedConcurrentExecutions"] == 5
        config = client.get_function_configuration(FunctionName="f")
        assert config["DeadLetterConfig"] == {"TargetArn": dlq}
        assert config["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/aws/lambda/f"}  # AWS's defaults
