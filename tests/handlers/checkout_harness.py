"""The dev stack's checkout Saga deployed into moto as the program declares it, its Lambdas run in-process.

The state machine definition, the function names, handlers and environments all come from evaluating
``__main__.py`` under offline mocks, so these tests exercise the definition the stack really generates.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from localcloud.lambda_runtime import LocalFunction
from localcloud.offline_mocks import OfflineMocks
from localcloud.program import ProgramRun, run_program, stack_config

REGION = "us-east-1"
TABLE_KEYS = {
    "ORDERS_TABLE": "order_id",
    "INVENTORY_TABLE": "sku",
    "RESERVATIONS_TABLE": "order_id",
    "PAYMENTS_TABLE": "order_id",
}


def declared_stack() -> ProgramRun:
    return run_program(OfflineMocks(), "dev", stack_config("dev"))


@dataclass
class CheckoutCloud:
    state_machine_arn: str
    tables: dict[str, str]  # env var → table name
    functions: dict[str, str]  # saga function key (e.g. "charge-payment") → function name

    def table(self, env_var: str) -> Any:
        return boto3.resource("dynamodb", region_name=REGION).Table(self.tables[env_var])

    def place_pending_order(self, order_id: str, items: dict[str, int], total: float) -> dict[str, Any]:
        order = {
            "order_id": order_id,
            "customer_id": "c-1",
            "items": [{"sku": s, "qty": q} for s, q in items.items()],
            "total": json.loads(json.dumps(total), parse_float=__import__("decimal").Decimal),
            "status": "PENDING",
            "created_at": "2026-11-25T10:00:00.000Z",
            "updated_at": "2026-11-25T10:00:00.000Z",
            "version": 1,
        }
        self.table("ORDERS_TABLE").put_item(Item=order)
        return {"order_id": order_id, "customer_id": "c-1", "items": order["items"], "total": total}

    def run(self, checkout_input: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        """Start the execution named after the order and wait for it to end."""
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.start_execution(
            stateMachineArn=self.state_machine_arn, name=checkout_input["order_id"], input=json.dumps(checkout_input)
        )["executionArn"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            execution = sfn.describe_execution(executionArn=arn)
            if execution["status"] != "RUNNING":
                return execution
            time.sleep(0.02)
        raise TimeoutError(f"execution {arn} still running after {timeout}s")

    def stock(self, sku: str) -> int:
        return int(self.table("INVENTORY_TABLE").get_item(Key={"sku": sku})["Item"]["available"])

    def item(self, env_var: str, order_id: str) -> dict[str, Any]:
        return self.table(env_var).get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item", {})


def deploy_checkout(run: ProgramRun, registry: dict[str, LocalFunction], inventory: dict[str, int]) -> CheckoutCloud:
    """Inside mock_aws with moto_runs_lambdas_in_process: tables, functions and the state machine."""
    saga = run.named("checkout", "serverless-patterns:index:Saga")
    functions = [r for r in run.descendants(saga) if r.type == "aws:lambda/function:Function"]
    [machine] = [r for r in run.descendants(saga) if r.type == "aws:sfn/stateMachine:StateMachine"]
    iam = boto3.client("iam", region_name=REGION)
    role_arn = iam.create_role(RoleName="local-lambda", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    tables: dict[str, str] = {}
    names: dict[str, str] = {}
    for function in functions:
        inputs = function.inputs
        variables = dict(inputs["environment"]["variables"])
        archive = Path(inputs["code"].path).read_bytes()
        created = lam.create_function(
            FunctionName=inputs["name"],
            Runtime="python3.12",
            Role=role_arn,
            Handler=inputs["handler"],
            Code={"ZipFile": archive},
            Environment={"Variables": variables},
            Timeout=int(inputs["timeout"]),
        )
        registry[inputs["name"]] = LocalFunction.from_archive(
            inputs["name"],
            created["FunctionArn"],
            inputs["handler"],
            archive,
            environment=variables,
            timeout_seconds=int(inputs["timeout"]),
        )
        names[function.name.removeprefix("checkout-")] = inputs["name"]
        tables.update({k: v for k, v in variables.items() if k in TABLE_KEYS})
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for env_var, table in tables.items():
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": TABLE_KEYS[env_var], "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": TABLE_KEYS[env_var], "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    for sku, count in inventory.items():
        dynamodb.put_item(TableName=tables["INVENTORY_TABLE"], Item={"sku": {"S": sku}, "available": {"N": str(count)}})
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name=machine.inputs["name"], definition=machine.inputs["definition"], roleArn=role_arn
    )["stateMachineArn"]
    return CheckoutCloud(arn, tables, names)
