"""Argument validation that reports every problem at once (the Solutions Constructs ``Check*Props`` style).

Components collect problems into a :class:`Problems` and call :meth:`Problems.raise_if_any` before creating
any child resource, so a bad argument fails at construction with one error naming everything that is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = ["LOG_LEVELS", "LOG_RETENTION_DAYS", "NAME_PATTERN", "ArgumentError", "Problems"]

#: Retention values CloudWatch Logs accepts (PutRetentionPolicy); 0 is "never expire", which we refuse.
LOG_RETENTION_DAYS: frozenset[int] = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARN", "ERROR")
#: Logical names of components: they prefix child resource names and physical names.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,47}$")


class ArgumentError(ValueError):
    """Invalid component arguments or stack configuration; ``problems`` lists every one of them."""

    def __init__(self, subject: str, problems: Sequence[str]) -> None:
        self.subject = subject
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{subject}: {len(self.problems)} invalid argument(s):\n{lines}")


class Problems:
    """Collects validation problems; ``raise_if_any`` raises one :class:`ArgumentError` with all of them."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.items.append(message)
        return ok

    def extend(self, messages: Iterable[str]) -> None:
        self.items.extend(messages)

    def int_range(self, field: str, value: object, low: int, high: int) -> None:
        """``value`` must be an int (not a bool) within [low, high]."""
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(f"{field} must be an integer, got {value!r}")
        elif not low <= value <= high:
            self.add(f"{field} must be between {low} and {high}, got {value}")

    def one_of(self, field: str, value: object, allowed: Iterable[object]) -> None:
        allowed = list(allowed)
        if value not in allowed:
            shown = ", ".join(str(a) for a in allowed)
            self.add(f"{field} must be one of {shown}; got {value!r}")

    def log_retention(self, field: str, value: object) -> None:
        if value not in LOG_RETENTION_DAYS or isinstance(value, bool):
            shown = ", ".join(str(d) for d in sorted(LOG_RETENTION_DAYS))
            self.add(f"{field} must be a retention CloudWatch Logs accepts ({shown}); got {value!r}")

    def name(self, field: str, value: object) -> None:
        if not isinstance(value, str) or not NAME_PATTERN.match(value):
            self.add(
                f"{field} must be lower-case letters, digits and '-', starting with a letter, at most 48 chars; "
                f"got {value!r}"
            )

    def raise_if_any(self) -> None:
        if self.items:
            raise ArgumentError(self.subject, self.items)
