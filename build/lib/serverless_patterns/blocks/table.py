"""The table block: on-demand DynamoDB with point-in-time recovery and encryption at rest.

AWS-owned encryption by default (no key cost, no key policy to manage), a customer key optional; TTL, GSIs,
streams and deletion protection come from arguments. Attribute definitions are derived from the keys, so an
index can never name an undeclared attribute.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from serverless_patterns.internals.validation import Problems

__all__ = ["GlobalIndex", "KeyAttribute", "Table", "TableArgs", "table_problems"]

AttributeType = Literal["S", "N", "B"]
StreamView = Literal["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"]
Projection = Literal["ALL", "KEYS_ONLY", "INCLUDE"]
_MAX_GSIS = 20


class KeyAttribute(TypedDict):
    name: str
    type: AttributeType


class GlobalIndex(TypedDict):
    name: str
    partition_key: KeyAttribute
    sort_key: NotRequired[KeyAttribute]
    projection: NotRequired[Projection]  # [ALL]
    non_key_attributes: NotRequired[list[str]]  # with INCLUDE


class TableArgs(TypedDict):
    partition_key: KeyAttribute
    sort_key: NotRequired[KeyAttribute]
    global_indexes: NotRequired[list[GlobalIndex]]
    ttl_attribute: NotRequired[str]
    stream_view_type: NotRequired[StreamView]  # [no stream]
    deletion_protection: NotRequired[bool]  # [True]
    kms_key_arn: NotRequired[pulumi.Input[str]]  # [AWS-owned key]


def _keys(args: TableArgs) -> list[tuple[str, KeyAttribute]]:
    keys: list[tuple[str, KeyAttribute]] = [("partition_key", args["partition_key"])]
    if "sort_key" in args:
        keys.append(("sort_key", args["sort_key"]))
    for i, index in enumerate(args.get("global_indexes", [])):
        keys.append((f"global_indexes[{i}].partition_key", index["partition_key"]))
        if "sort_key" in index:
            keys.append((f"global_indexes[{i}].sort_key", index["sort_key"]))
    return keys


def table_problems(args: TableArgs) -> list[str]:
    p = Problems("table")
    types: dict[str, tuple[str, str]] = {}
    for field, key in _keys(args):
        name, kind = key.get("name"), key.get("type")
        p.check(isinstance(name, str) and 0 < len(name) <= 255, f"{field}.name must be a non-empty string")
        p.one_of(f"{field}.type", kind, ("S", "N", "B"))
        if isinstance(name, str) and isinstance(kind, str):
            if name in types and types[name][0] != kind:
                p.add(f"{field}: attribute {name!r} is {kind} here but {types[name][0]} in {types[name][1]}")
            types.setdefault(name, (kind, field))
    indexes = args.get("global_indexes", [])
    p.check(len(indexes) <= _MAX_GSIS, f"global_indexes: at most {_MAX_GSIS} per table, got {len(indexes)}")
    names = [i.get("name") for i in indexes]
    for dup in sorted({n for n in names if isinstance(n, str) and names.count(n) > 1}):
        p.add(f"global_indexes: duplicate index name {dup!r}")
    for i, index in enumerate(indexes):
        projection = index.get("projection", "ALL")
        p.one_of(f"global_indexes[{i}].projection", projection, ("ALL", "KEYS_ONLY", "INCLUDE"))
        has_extra = bool(index.get("non_key_attributes"))
        p.check(
            has_extra == (projection == "INCLUDE"),
            f"global_indexes[{i}]: non_key_attributes are required with INCLUDE and only with INCLUDE",
        )
    if "stream_view_type" in args:
        p.one_of(
            "stream_view_type", args["stream_view_type"], ("NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY")
        )
    if "ttl_attribute" in args:
        ttl = args["ttl_attribute"]
        p.check(isinstance(ttl, str) and bool(ttl), "ttl_attribute must be a non-empty string")
        p.check(ttl not in types, f"ttl_attribute {ttl!r} may not be a key attribute")
    return p.items


class Table(pulumi.ComponentResource):
    """A DynamoDB table. See :class:`TableArgs`."""

    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]
    stream_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: TableArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-patterns:index:Table", name, None, opts)
        problems = Problems(f"Table {name!r}")
        problems.extend(table_problems(args))
        problems.raise_if_any()

        attributes: dict[str, str] = {}
        for _, key in _keys(args):
            attributes.setdefault(key["name"], key["type"])
        indexes: list[aws.dynamodb.TableGlobalSecondaryIndexArgsDict] = [
            {
                "name": index["name"],
                "key_schemas": [
                    {"attribute_name": index["partition_key"]["name"], "key_type": "HASH"},
                    *(
                        [{"attribute_name": index["sort_key"]["name"], "key_type": "RANGE"}]
                        if "sort_key" in index
                        else []
                    ),
                ],
                "projection_type": index.get("projection", "ALL"),
                "non_key_attributes": index.get("non_key_attributes"),
            }
            for index in args.get("global_indexes", [])
        ]
        key_arn = args.get("kms_key_arn")
        stream = args.get("stream_view_type")
        table = aws.dynamodb.Table(
            name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=args["partition_key"]["name"],
            range_key=args["sort_key"]["name"] if "sort_key" in args else None,
            attributes=[{"name": n, "type": t} for n, t in attributes.items()],
            global_secondary_indexes=indexes or None,
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True, "kms_key_arn": key_arn} if key_arn is not None else None,
            ttl={"attribute_name": args["ttl_attribute"], "enabled": True} if "ttl_attribute" in args else None,
            stream_enabled=stream is not None,
            stream_view_type=stream,
            deletion_protection_enabled=args.get("deletion_protection", True),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.table_name = table.name
        self.table_arn = table.arn
        self.stream_arn = table.stream_arn if stream is not None else None
        outputs: dict[str, pulumi.Input[str]] = {"table_name": table.name, "table_arn": table.arn}
        if stream is not None:
            outputs["stream_arn"] = table.stream_arn
        self.register_outputs(outputs)
