"""stale-parcels: once a day, the parcels not delivered and with no event for ``STALE_AFTER_HOURS``.

The cutoff comes from the run's scheduled time (not the wall clock) and the report is keyed by it and written
once, so a retried or duplicated delivery of the same run writes nothing twice.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import boto3

from handler_runtime.observability import instrumented, logger, metrics
from handler_runtime.records import put_once, utc_now
from handler_runtime.validation import FieldReader

__all__ = ["handler", "stale_parcels"]

SCHEDULED_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})"


@cache
def _table(variable: str) -> Any:
    dynamodb: Any = boto3.resource("dynamodb")
    return dynamodb.Table(os.environ[variable])


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stale_parcels(cutoff: str) -> list[str]:
    """Parcels not delivered whose last event is older than ``cutoff``, by id."""
    scan: dict[str, Any] = {"ProjectionExpression": "parcel_id, #status, updated_at"}
    scan["ExpressionAttributeNames"] = {"#status": "status"}
    stale: list[str] = []
    while True:
        page = _table("PARCELS_TABLE").scan(**scan)
        stale += [
            item["parcel_id"]
            for item in page.get("Items", [])
            if item.get("status") != "Delivered" and str(item.get("updated_at", "")) < cutoff
        ]
        if "LastEvaluatedKey" not in page:
            return sorted(stale)
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@instrumented(correlation_id_path="scheduled_time")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    reader = FieldReader(event)
    scheduled = reader.string("scheduled_time", pattern=SCHEDULED_TIME)
    reader.raise_if_invalid()
    assert scheduled is not None
    run_at = datetime.fromisoformat(scheduled.replace("Z", "+00:00"))
    cutoff = _iso(run_at - timedelta(hours=int(os.environ["STALE_AFTER_HOURS"])))
    stale = stale_parcels(cutoff)
    report = {"report_id": _iso(run_at), "cutoff": cutoff, "stale_parcels": stale, "written_at": utc_now()}
    written = put_once(_table("REPORTS_TABLE"), report, "report_id")
    metrics.add_metric(name="StaleParcels", unit="Count", value=len(stale))
    logger.info("stale parcels report", extra={"report_id": report["report_id"], "stale": len(stale), "new": written})
    return {"report_id": report["report_id"], "stale_parcels": stale, "written": written}
