"""Tiny, dependency-free event validation that reports every problem at once.

Pydantic ships in the Powertools layer but costs cold-start time on import; these events are small and flat,
so a reader that collects field errors is enough:

>>> reader = FieldReader({"customer_id": "c-1", "total": -1})
>>> reader.string("customer_id")
'c-1'
>>> reader.number("total", greater_than=0) is None
True
>>> [e.as_dict() for e in reader.errors]
[{'field': 'total', 'message': 'must be a number > 0'}]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["FieldError", "FieldReader", "ValidationFailed"]


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class ValidationFailed(ValueError):
    """The input is invalid; ``errors`` lists every problem."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))

    def as_dicts(self) -> list[dict[str, str]]:
        """The errors as a handler returns them: ``[{"field": ..., "message": ...}, ...]``."""
        return [e.as_dict() for e in self.errors]


class FieldReader:
    """Reads typed fields from a JSON object, collecting a :class:`FieldError` for each bad one.

    Readers for nested objects share the parent's error list, so one ``raise_if_invalid`` reports all.
    """

    def __init__(self, data: object, prefix: str = "", errors: list[FieldError] | None = None) -> None:
        self.errors: list[FieldError] = [] if errors is None else errors
        self.prefix = prefix
        if isinstance(data, Mapping):
            self.data: Mapping[str, Any] = data
        else:
            self.data = {}
            self.errors.append(FieldError(prefix or "$", "must be a JSON object"))

    def _name(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def fail(self, key: str, message: str) -> None:
        self.errors.append(FieldError(self._name(key), message))

    def string(
        self, key: str, *, required: bool = True, pattern: str | None = None, max_length: int = 256
    ) -> str | None:
        value = self.data.get(key)
        if self._absent(key, value, required):
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(key, "must be a non-empty string")
            return None
        if len(value) > max_length:
            self.fail(key, f"must be at most {max_length} characters")
            return None
        if pattern is not None and not re.fullmatch(pattern, value):
            self.fail(key, f"must match {pattern}")
            return None
        return value

    def _absent(self, key: str, value: object, required: bool) -> bool:
        """True when ``value`` is missing (JSON null counts as missing); a missing required field is an error."""
        if value is None and required:
            self.fail(key, "is required")
        return value is None

    def integer(self, key: str, *, minimum: int | None = None, required: bool = True) -> int | None:
        """An integer (an integral Decimal counts; a bool or 2.0 does not), at least ``minimum`` when given."""
        value = self.data.get(key)
        if self._absent(key, value, required):
            return None
        if isinstance(value, Decimal) and value == value.to_integral_value():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
            self.fail(key, "must be an integer" + (f" >= {minimum}" if minimum is not None else ""))
            return None
        return value

    def number(self, key: str, *, greater_than: float | None = None, required: bool = True) -> Decimal | None:
        """A JSON number as a Decimal (what DynamoDB stores); floats are converted through their repr."""
        value = self.data.get(key)
        if self._absent(key, value, required):
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            self.fail(key, "must be a number" + (f" > {greater_than:g}" if greater_than is not None else ""))
            return None
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not number.is_finite() or (greater_than is not None and number <= Decimal(repr(greater_than))):
            self.fail(key, "must be a number" + (f" > {greater_than:g}" if greater_than is not None else ""))
            return None
        return number

    def array(
        self, key: str, *, min_items: int = 0, max_items: int | None = None, required: bool = True
    ) -> list[Any] | None:
        """A JSON list with ``min_items`` to ``max_items`` elements (elements unchecked: see :meth:`objects`)."""
        value = self.data.get(key)
        if self._absent(key, value, required):
            return None
        if not isinstance(value, list):
            self.fail(key, "must be a list")
            return None
        if len(value) < min_items or (max_items is not None and len(value) > max_items):
            bound = f"{min_items} to {max_items}" if max_items is not None else f"at least {min_items}"
            self.fail(key, f"must have {bound} items")
            return None
        return value

    def objects(
        self, key: str, *, min_items: int = 0, max_items: int | None = None, required: bool = True
    ) -> list[FieldReader]:
        """A list of JSON objects, each as a reader sharing this reader's errors (named ``key[i].field``)."""
        value = self.array(key, min_items=min_items, max_items=max_items, required=required) or []
        return [FieldReader(item, f"{self._name(key)}[{i}]", self.errors) for i, item in enumerate(value)]

    def raise_if_invalid(self) -> None:
        """Raise :class:`ValidationFailed` with every error collected so far (by this reader and its children)."""
        if self.errors:
            raise ValidationFailed(list(self.errors))
