"""Dependencies down for a long time: the flow waits and catches up, nothing is lost or doubled."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from localcloud.engine import LocalCloud
from scenarios.campaign import command, peek, place_order
from scenarios.flow import FlowFunctions
from scenarios.invariants import Snapshot, violations

pytestmark = pytest.mark.xdist_group("outages")


def test_an_hour_long_sns_outage_loses_no_domain_event(monkeypatch: pytest.MonkeyPatch):
    from botocore.client import BaseClient

    with LocalCloud.started("dev") as cloud:
        flow = FlowFunctions.of(cloud)
        outage_ends = cloud.clock.now() + timedelta(minutes=70)
        original = BaseClient._make_api_call
        refused: list[str] = []

        def sns_down(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if client.meta.service_model.service_name == "sns" and cloud.clock.now() < outage_ends:
                refused.append(operation)
                raise EndpointConnectionError(endpoint_url="https://sns.us-east-1.amazonaws.com")
            return original(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", sns_down)
        replies = [place_order(cloud, flow["place-order"], command("outage", f"o-{n}", 40)) for n in range(3)]
        placed = [reply["order_id"] for reply in replies if reply]
        assert len(placed) == 3
        cloud.drain()  # the publisher retries with backoff on the clock until SNS is back, 70 minutes later
        assert cloud.clock.now() >= outage_ends and len(refused) > 10
        snapshot = Snapshot.read(cloud.outputs, cloud.deployment.region)
        assert violations(snapshot, placed) == []
        # The orders expired during the outage (their OrderPlaced could not reach fulfilment in time); both of
        # their events were published once SNS was back, and every subscriber got them.
        assert {snapshot.orders[o]["status"] for o in placed} == {"EXPIRED"}
        assert all(snapshot.notifications[o] == {"OrderExpired"} for o in placed)
        publisher = next(m for m in cloud.deployment.mappings if m.function_name == flow["publisher"])
        assert publisher.on_failure_arn is not None
        assert peek(cloud, cloud.deployment.queue_urls[publisher.on_failure_arn]) == [], "nothing failed over"
        started = cloud.client("stepfunctions").list_executions(
            stateMachineArn=cloud.outputs["checkout_state_machine_arn"]
        )["executions"]
        assert sorted(e["name"] for e in started) == sorted(placed), "OrderPlaced reached fulfilment after all"
