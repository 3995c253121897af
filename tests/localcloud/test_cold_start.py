"""Each function has its own cold start, as each has its own execution environment on AWS: Powertools' cold-start
flags (in the logs' ``cold_start`` field and the ColdStart metric) are the function's, not the process's."""

from __future__ import annotations

import json

from cloud_helpers import function, place

from localcloud.engine import LocalCloud


def cold_starts(cloud: LocalCloud, name: str) -> list[bool]:
    """The ``cold_start`` field of each structured line ``name`` logged with its Lambda context."""
    lines = [json.loads(line) for line in cloud.logs.logs.get(name, []) if line.startswith('{"level"')]
    return [line["cold_start"] for line in lines if "cold_start" in line]


def test_every_function_starts_cold_once(cloud: LocalCloud):
    place(cloud, "cold-1", {"sku-apple": 1}, total=10, customer="cold")
    cloud.drain()  # the first OrderPlaced reaches fulfilment: its first invocation, after place-order's
    place(cloud, "cold-2", {"sku-apple": 1}, total=10, customer="cold")
    cloud.drain()
    place_order, fulfilment = function("orders-place-order"), function("order-events-fulfilment-consumer")
    assert cold_starts(cloud, place_order)[:1] == [True] and not any(cold_starts(cloud, place_order)[1:])
    assert cold_starts(cloud, fulfilment)[:1] == [True], cold_starts(cloud, fulfilment)
    assert not any(cold_starts(cloud, fulfilment)[1:])
