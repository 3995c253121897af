"""Arguments resolved once into frozen, typed settings: every default in one place, every problem reported at once.

Each block and pattern declares its settings as a frozen dataclass whose fields carry their default and their
rules (:func:`setting`); :func:`resolve` turns the user's ``args`` (a TypedDict, read as a plain mapping) into that
dataclass, applying the defaults and collecting every problem — not a mapping, a missing required key, an unknown
key (with the key that was probably meant), a value of the wrong type, a number out of range, a value not among
the choices, a string that should be an ARN and is not — into one :class:`ArgumentError`. A field typed as a
TypedDict of another block (a table key, a grant) is handed on as it is once its keys are known: that block checks
its values. Components then read attributes of the settings; the README's argument tables are generated from the
same declarations (:func:`markdown_table`), and a test keeps them equal.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Example:
...     name: str = setting(doc="required")
...     size: int = setting(10, low=1, high=100, doc="how many")
>>> resolve(Example, {"name": "a", "sise": 3}, "Example 'x'")
Traceback (most recent call last):
...
serverless_patterns.internals.validation.ArgumentError: Example 'x': 1 invalid argument(s):
  - unknown argument 'sise' (did you mean 'size'?)
"""

from __future__ import annotations

import collections.abc
import dataclasses
import difflib
import functools
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, Union, get_args, get_origin

import pulumi

from serverless_patterns.internals.validation import ArgumentError

__all__ = [
    "ARN_PATTERN",
    "REQUIRED",
    "SettingRule",
    "markdown_table",
    "required_keys",
    "resolve",
    "setting",
    "settings_problems",
    "typed_settings",
]

Settings = TypeVar("Settings")
ARN_PATTERN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$")


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclasses.dataclass(frozen=True)
class SettingRule:
    """What a setting accepts besides its type, and how the README describes it."""

    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    arn: bool = False  # a string value must be an ARN (Pulumi outputs are checked by AWS at deploy time)
    check: Callable[[Any], str | None] | None = None  # returns a problem, or None
    doc: str = ""  # the README's "notes" column
    default_doc: str | None = None  # the README's "default" column when the default is not self-explanatory


def setting(
    default: Any = REQUIRED,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[Any, ...] | None = None,
    arn: bool = False,
    check: Callable[[Any], str | None] | None = None,
    doc: str = "",
    default_doc: str | None = None,
) -> Any:
    """A settings field: its default (``REQUIRED`` when the user must give it) and its rules."""
    rule = SettingRule(low, high, choices, arn, check, doc, default_doc)
    metadata = {"rule": rule}
    if default is REQUIRED:
        return dataclasses.field(metadata=metadata)
    if isinstance(default, list | dict | set):
        raise TypeError("mutable defaults are not allowed: use a tuple or a frozen mapping")
    return dataclasses.field(default=default, metadata=metadata)


def _rule(field: dataclasses.Field[Any]) -> SettingRule:
    return field.metadata.get("rule", SettingRule())


def _is_output(value: object) -> bool:
    return isinstance(value, pulumi.Output) or hasattr(value, "__await__")


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = get_args(annotation)
        plain = [
            _type_name(a)
            for a in options
            if a is not type(None) and get_origin(a) not in (pulumi.Output, collections.abc.Awaitable)
        ]
        pulumi_output = any(get_origin(a) is pulumi.Output for a in options)
        return " or ".join(plain) + (" (or a Pulumi output)" if pulumi_output else "")
    if origin in (list, tuple):
        return "a list"
    if origin in (dict, Mapping) or typing.is_typeddict(annotation):
        return "a mapping"
    if dataclasses.is_dataclass(annotation):
        return "a mapping of arguments"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        annotation, str(annotation)
    )


def _convert(value: Any, annotation: Any, where: str, problems: list[str], rules: bool = True) -> Any:
    """``value`` checked against ``annotation`` (and converted: lists to tuples, mappings to nested settings);
    ``rules`` False checks types only (nested settings skip their rules and unknown keys)."""
    origin = get_origin(annotation)
    if annotation is Any:
        return value
    if origin in (Union, types.UnionType):
        options = get_args(annotation)
        if value is None and type(None) in options:
            return None
        if _is_output(value) and any(get_origin(o) is pulumi.Output or o is pulumi.Output for o in options):
            return value
        for option in options:
            if option is type(None) or get_origin(option) is pulumi.Output:
                continue
            if _accepts(value, option):
                return _convert(value, option, where, problems, rules)
        problems.append(f"{where} must be {_type_name(annotation)}, got {_shown(value)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            problems.append(f"{where} must be a list, got {_shown(value)}")
            return ()
        (item_type, *_rest) = get_args(annotation) or (Any,)
        return tuple(_convert(item, item_type, f"{where}[{i}]", problems, rules) for i, item in enumerate(value))
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            problems.append(f"{where} must be a mapping, got {_shown(value)}")
            return {}
        key_type, value_type = get_args(annotation) or (Any, Any)
        return {
            _convert(k, key_type, f"{where} key", problems, rules): _convert(
                v, value_type, f"{where}[{k!r}]", problems, rules
            )
            for k, v in value.items()
        }
    if typing.is_typeddict(annotation):
        return _typed_dict(value, annotation, where, problems)
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        return _resolve_into(annotation, value, where, problems, rules)
    if not _accepts(value, annotation):
        problems.append(f"{where} must be {_type_name(annotation)}, got {_shown(value)}")
    return float(value) if annotation is float and isinstance(value, int) else value


def _accepts(value: Any, annotation: Any) -> bool:
    origin = get_origin(annotation)
    if annotation is Any:
        return True
    if origin in (list, tuple):
        return isinstance(value, list | tuple)
    if origin in (dict, Mapping) or dataclasses.is_dataclass(annotation) or typing.is_typeddict(annotation):
        return isinstance(value, Mapping)
    if origin in (Union, types.UnionType):
        return any(_accepts(value, a) for a in get_args(annotation))
    if origin is pulumi.Output or annotation is pulumi.Output or origin is collections.abc.Awaitable:
        return _is_output(value)
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_rule(value: Any, rule: SettingRule, where: str, problems: list[str]) -> None:
    if value is None or _is_output(value):
        return
    if rule.choices is not None and value not in rule.choices:
        problems.append(f"{where} must be one of {', '.join(str(c) for c in rule.choices)}; got {_shown(value)}")
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if (numeric and rule.low is not None and value < rule.low) or (
        numeric and rule.high is not None and value > rule.high
    ):
        problems.append(f"{where} must be between {_num(rule.low)} and {_num(rule.high)}, got {value}")
    if rule.arn:  # a string, or each string of a list
        items = enumerate(value) if isinstance(value, tuple) else [(None, value)]
        for i, item in items:
            if isinstance(item, str) and not ARN_PATTERN.match(item):
                at = where if i is None else f"{where}[{i}]"
                problems.append(f"{at} must be an ARN (arn:<partition>:<service>:...), got {_shown(item)}")
    if rule.check is not None:
        problem = rule.check(value)
        if problem:
            problems.append(f"{where} {problem}")


def _num(value: float | None) -> str:
    if value is None:
        return "any"
    return f"{value:g}" if isinstance(value, float) else str(value)


@functools.cache
def _hints(cls: type[Any], extras: bool = False) -> dict[str, Any]:
    # pulumi.Input[T] holds a forward reference to "Output[T]": resolve it with pulumi's names at hand.
    names = {"Output": pulumi.Output, "Input": pulumi.Input, "T": typing.TypeVar("T"), "T_co": typing.TypeVar("T_co")}
    return typing.get_type_hints(cls, localns=names, include_extras=extras)


@functools.cache
def required_keys(typed_dict: type[Any]) -> frozenset[str]:
    """The keys a TypedDict requires (not ``__required_keys__``: under ``from __future__ import annotations``,
    Python 3.11 cannot see ``NotRequired`` there)."""
    total = getattr(typed_dict, "__total__", True)
    return frozenset(
        key
        for key, hint in _hints(typed_dict, extras=True).items()
        if get_origin(hint) is typing.Required or (total and get_origin(hint) is not typing.NotRequired)
    )


def _resolve_into(
    cls: type[Settings], args: Any, where: str, problems: list[str], rules: bool = True
) -> Settings | None:
    prefix = f"{where}." if where else ""
    if not isinstance(args, Mapping):
        problems.append(f"{where or 'args'} must be a mapping of arguments, got {_shown(args)}")
        return None
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    hints = _hints(cls)
    if rules:
        _unknown_keys(args, list(fields), prefix, problems)
    values: dict[str, Any] = {}
    complete = True
    for name, field in fields.items():
        if name not in args:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                problems.append(f"{prefix}{name} is required")
                complete = False
            continue
        value = args[name]
        before = len(problems)
        converted = _convert(value, hints[name], f"{prefix}{name}", problems, rules)
        if rules and len(problems) == before:
            _check_rule(converted, _rule(field), f"{prefix}{name}", problems)
        values[name] = converted
    if not complete:
        return None
    try:
        return cls(**values)
    except TypeError as error:  # a field typed as a nested settings class whose resolution failed
        problems.append(f"{where or 'args'}: {error}")
        return None


def _unknown_keys(args: Mapping[Any, Any], known: list[str], prefix: str, problems: list[str]) -> None:
    for key in args:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(sorted(known))})"
            problems.append(f"unknown argument {prefix + str(key)!r}{hint}")


def _typed_dict(value: Any, annotation: Any, where: str, problems: list[str]) -> dict[str, Any]:
    """``value`` as the TypedDict ``annotation``: a mapping of its keys, its required ones present."""
    if not isinstance(value, Mapping):
        problems.append(f"{where} must be a mapping, got {_shown(value)}")
        return {}
    keys = list(annotation.__annotations__)
    _unknown_keys(value, keys, f"{where}.", problems)
    problems.extend(f"{where}.{k} is required" for k in keys if k in required_keys(annotation) and k not in value)
    return dict(value)


def settings_problems(cls: type[Settings], args: Any, where: str = "") -> tuple[Settings | None, list[str]]:
    """The settings from ``args`` and every problem found (the settings are None when a problem prevents them)."""
    problems: list[str] = []
    resolved = _resolve_into(cls, args, where, problems)
    return (resolved if not problems else None), problems


def typed_settings(cls: type[Settings], args: Any) -> Settings | None:
    """The settings from ``args`` when every value has its declared type, even if some break their rules (a range,
    a choice, an ARN, a check) or ``args`` holds unknown keys; None otherwise. A component's cross-field rules run
    on them beside :func:`settings_problems`, so that every problem is reported at once."""
    problems: list[str] = []
    resolved = _resolve_into(cls, args, "", problems, rules=False)
    return resolved if not problems else None


def resolve(cls: type[Settings], args: Any, subject: str) -> Settings:
    """The settings from ``args``, or :class:`ArgumentError` naming every problem (``subject``: what is built)."""
    resolved, problems = settings_problems(cls, args)
    if problems or resolved is None:
        raise ArgumentError(subject, problems or ["the arguments could not be read"])
    return resolved


def _default_text(field: dataclasses.Field[Any]) -> str:
    rule = _rule(field)
    if rule.default_doc is not None:
        return rule.default_doc
    if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
        return "required"
    default = field.default if field.default is not dataclasses.MISSING else field.default_factory()  # type: ignore[misc]
    if default is None:
        return "none"
    if isinstance(default, bool):
        return str(default).lower()
    if default == ():
        return "[]"
    return str(default)


def markdown_table(cls: type[Any], skip: tuple[str, ...] = ()) -> str:
    """The README's argument table of a settings class: argument, default, notes (ranges and choices included)."""
    rows = ["| argument | default | notes |", "| --- | --- | --- |"]
    for field in dataclasses.fields(cls):
        if field.name in skip:
            continue
        rule = _rule(field)
        notes = [rule.doc] if rule.doc else []
        if rule.low is not None or rule.high is not None:
            notes.append(f"{_num(rule.low)}\u2013{_num(rule.high)}")  # an en dash, as the README writes ranges
        if rule.choices is not None and not rule.doc:
            notes.append(", ".join(str(c) for c in rule.choices))
        rows.append(f"| `{field.name}` | {_default_text(field)} | {'; '.join(notes)} |")
    return "\n".join(rows)
