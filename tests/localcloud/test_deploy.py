"""The whole dev stack deploys into moto with real identifiers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pulumi_aws as aws
import pytest
from cloud_helpers import place
from moto import mock_aws

from localcloud.deploy import Deployment, MotoDeployer, UnsupportedResource
from localcloud.engine import LocalCloud
from localcloud.program import run_declarations

pytestmark = pytest.mark.xdist_group("deploy")  # one deployment shared by the module's tests


@pytest.fixture(scope="module")
def deployed() -> Iterator[LocalCloud]:
    with LocalCloud.started("dev") as cloud:
        yield cloud


def test_the_dev_stack_deploys_with_real_identifiers(deployed: LocalCloud):
    cloud = deployed
    outputs = cloud.outputs
    sqs, sfn, dynamodb = cloud.client("sqs"), cloud.client("stepfunctions"), cloud.client("dynamodb")
    for url in outputs["subscriber_dlq_urls"].values():
        assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])["Attributes"] == {
            "MessageRetentionPeriod": "1209600"
        }
    assert sfn.describe_state_machine(stateMachineArn=outputs["checkout_state_machine_arn"])["status"] == "ACTIVE"
    stream = dynamodb.describe_table(TableName=outputs["orders_table"])["Table"]["LatestStreamArn"]
    assert {m.source_arn for m in cloud.deployment.mappings if m.kind == "dynamodb-stream"} == {stream}
    assert (
        cloud.client("lambda").get_function(FunctionName=outputs["place_order_function"])["Configuration"]["Handler"]
        == "orders.place_order.handler"
    )
    stock = dynamodb.get_item(TableName=outputs["inventory_table"], Key={"sku": {"S": "sku-apple"}})["Item"]
    assert stock["available"] == {"N": "100"}
    assert len(cloud.deployment.functions) == 14
    assert {m.kind for m in cloud.deployment.mappings} == {"sqs", "dynamodb-stream"}
    assert len(cloud.deployment.schedules) == 1
    assert cloud.deployment.ttl_attributes == {"idempotency": "expiration"}


def test_an_unsupported_resource_type_is_named():
    def build() -> None:
        aws.s3.Bucket("uploads")

    with mock_aws(), pytest.raises(Exception, match=r"cannot create aws:s3/bucket:Bucket \(resource 'uploads'\)"):
        run_declarations(MotoDeployer(Deployment("us-east-1")), build)
    assert issubclass(UnsupportedResource, Exception)


def test_the_call_recorder_sees_each_handlers_aws_calls(deployed: LocalCloud):
    function = deployed.outputs["place_order_function"]
    before = len(deployed.calls.by_function(function))
    place(deployed, "recorded")
    calls = deployed.calls.by_function(function)[before:]
    assert [(c.service, c.action, c.resource) for c in calls] == [("dynamodb", "PutItem", "orders-table")]


def test_handler_metrics_and_logs_are_captured(deployed: LocalCloud):
    function = deployed.outputs["place_order_function"]
    placed = deployed.metrics.total("serverless-orders", "OrdersPlaced")
    invoked = deployed.metrics.total("AWS/Lambda", "Invocations", FunctionName=function)
    result = place(deployed, "metered")
    assert deployed.metrics.total("serverless-orders", "OrdersPlaced") == placed + 1
    assert deployed.metrics.total("AWS/Lambda", "Invocations", FunctionName=function) == invoked + 1
    lines = [json.loads(line) for line in deployed.logs.logs[function]]
    assert any(line.get("message") == "order placed" and line.get("order_id") == result["order_id"] for line in lines)


def test_the_deployer_answers_the_powertools_layer_parameter():
    from pulumi.runtime import MockCallArgs

    from serverless_patterns.internals.runtime import powertools_layer_parameter

    deployer = MotoDeployer(Deployment("us-east-1"))
    name = powertools_layer_parameter("python3.12", "x86_64")
    answer, _ = deployer.call(MockCallArgs("aws:ssm/getParameter:getParameter", {"name": name}, ""))
    assert answer["insecureValue"] == answer["value"]
    assert answer["value"].startswith("arn:aws:lambda:us-east-1:017000801446:layer:")
    assert answer["value"].split(":")[6] == "AWSLambdaPowertoolsPythonV3-python312-x86_64"
    with pytest.raises(UnsupportedResource, match="no SSM parameter /team/secret"):
        deployer.call(MockCallArgs("aws:ssm/getParameter:getParameter", {"name": "/team/secret"}, ""))
