"""The prod stack runs in the local cloud as well as dev: customer keys, protected tables and the alarm e-mail."""

from __future__ import annotations

from cloud_helpers import order, place

from localcloud.engine import LocalCloud
from scenarios.invariants import Snapshot, violations


def test_the_prod_stack_confirms_an_order_under_its_customer_key():
    with LocalCloud.started("prod") as cloud:
        placed = place(cloud, "prod-1", {"sku-apple": 2}, total=80, customer="prod-customer")
        cloud.drain()
        assert order(cloud, placed["order_id"])["status"] == "CONFIRMED"
        snapshot = Snapshot.read(cloud.outputs, cloud.deployment.region)
        assert violations(snapshot, [placed["order_id"]]) == []
        kms = cloud.client("kms")
        aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
        data_key = aliases["alias/serverless-orders-prod-data"]
        assert kms.get_key_rotation_status(KeyId=data_key)["KeyRotationEnabled"] is True
        table = cloud.client("dynamodb").describe_table(TableName=cloud.outputs["orders_table"])["Table"]
        assert table["SSEDescription"]["KMSMasterKeyArn"].endswith(data_key)
