"""A parcel event as it arrives on the parcel-events topic (a raw SQS message body), parsed and validated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from handler_runtime.batch import SQSRecord, json_body
from handler_runtime.errors import MalformedMessage
from handler_runtime.validation import FieldReader, ValidationFailed

__all__ = ["EVENT_TYPES", "ParcelEvent", "parse_parcel_event"]

EVENT_TYPES = ("PickedUp", "InTransit", "OutForDelivery", "Delivered")


@dataclass(frozen=True)
class ParcelEvent:
    parcel_id: str
    event_type: str
    location: str
    occurred_at: str  # ISO 8601 in UTC with milliseconds: strings compare in time order


def _utc(text: str) -> str | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_parcel_event(record: SQSRecord) -> ParcelEvent:
    """The event in ``record``; :class:`MalformedMessage` naming every bad field when it is not one."""
    reader = FieldReader(json_body(record))
    parcel_id = reader.string("parcel_id", pattern=r"[A-Za-z0-9_-]{1,64}")
    event_type = reader.string("event_type")
    if event_type is not None and event_type not in EVENT_TYPES:
        reader.fail("event_type", f"must be one of {', '.join(EVENT_TYPES)}")
    location = reader.string("location")
    occurred = reader.string("occurred_at")
    occurred_at = _utc(occurred) if occurred is not None else None
    if occurred is not None and occurred_at is None:
        reader.fail("occurred_at", "must be an ISO 8601 time with a UTC offset")
    try:
        reader.raise_if_invalid()
    except ValidationFailed as invalid:
        raise MalformedMessage(f"message {record.message_id} is not a parcel event: {invalid}") from invalid
    assert parcel_id and event_type and location and occurred_at
    return ParcelEvent(parcel_id, event_type, location, occurred_at)
