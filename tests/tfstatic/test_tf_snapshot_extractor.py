"""The jsii extractor of tools/schema/snapshot.py on a tiny hand-made assembly."""

from __future__ import annotations

from typing import Any

import pytest

from tools.schema.snapshot import build

URL = "https://registry.terraform.io/providers/hashicorp/demo/1.2.3/docs"


def prop(name: str, anchor: str | None, type_: dict[str, Any], *, optional: bool) -> dict[str, Any]:
    summary = (
        f"Docs at Terraform Registry: {{@link {URL}/resources/thing#{anchor} Thing#{anchor}}}."
    )
    entry: dict[str, Any] = {"name": name, "type": type_, "docs": {"summary": summary}}
    if anchor is None:
        entry["docs"] = {"summary": "Undocumented."}
    if optional:
        entry["optional"] = True
    return entry


def block(name: str, anchor: str, fqn: str, *, optional: bool, many: bool) -> dict[str, Any]:
    type_: dict[str, Any] = {"fqn": fqn}
    if many:
        type_ = {
            "union": {
                "types": [
                    {"fqn": "cdktf.IResolvable"},
                    {"collection": {"kind": "array", "elementtype": {"fqn": fqn}}},
                ]
            }
        }
    return {
        "name": name,
        "type": type_,
        "optional": optional,
        "docs": {
            "summary": f"{anchor} block.",
            "remarks": "Docs at Terraform Registry: "
            f"{{@link {URL}/resources/thing#{anchor} Thing#{anchor}}}",
        },
    }


def assembly() -> dict[str, Any]:
    string = {"primitive": "string"}
    return {
        "name": "@demo/provider",
        "version": "9.9.9",
        "types": {
            "demo.Thing": {
                "kind": "class",
                "docs": {"summary": f"Represents a {{@link {URL}/resources/thing demo_thing}}."},
                "initializer": {
                    "parameters": [{"name": "config", "type": {"fqn": "demo.ThingConfig"}}]
                },
                "properties": [
                    {"name": "tfResourceType", "static": True},
                    {"name": "arn"},
                    {"name": "outputBase64Sha256"},
                    {"name": "kmsMasterKeyId"},
                    {"name": "kmsMasterKeyIdInput"},
                    {"name": "providerAttribute"},
                    {"name": "loggingConfig"},
                ],
            },
            "demo.DataThing": {
                "kind": "class",
                "docs": {"summary": f"Represents a {{@link {URL}/data-sources/thing demo_thing}}."},
                "initializer": {
                    "parameters": [{"name": "config", "type": {"fqn": "demo.DataThingConfig"}}]
                },
            },
            "demo.Other": {
                "kind": "class",
                "docs": {"summary": f"Represents a {{@link {URL}/resources/other demo_other}}."},
                "initializer": {
                    "parameters": [{"name": "config", "type": {"fqn": "demo.ThingConfig"}}]
                },
            },
            "demo.Provider": {
                "kind": "class",
                "docs": {"summary": f"Represents a {{@link {URL} demo}}."},
                "initializer": {
                    "parameters": [{"name": "config", "type": {"fqn": "demo.ProviderConfig"}}]
                },
            },
            "demo.ProviderConfig": {
                "kind": "interface",
                "datatype": True,
                "properties": [prop("region", "region", string, optional=True)],
            },
            "demo.ThingConfig": {
                "kind": "interface",
                "datatype": True,
                "properties": [
                    prop("kmsMasterKeyId", "kms_master_key_id", string, optional=False),
                    prop("providerAttribute", "provider", string, optional=True),
                    prop("fifoQueue", None, string, optional=True),
                    prop(
                        "tags",
                        "tags",
                        {"collection": {"kind": "map", "elementtype": string}},
                        optional=True,
                    ),
                    block(
                        "loggingConfig", "logging_config", "demo.Logging", optional=True, many=False
                    ),
                    block("statement", "statement", "demo.Statement", optional=False, many=True),
                ],
            },
            "demo.DataThingConfig": {
                "kind": "interface",
                "datatype": True,
                "properties": [prop("name", "name", string, optional=True)],
            },
            "demo.Logging": {
                "kind": "interface",
                "datatype": True,
                "properties": [prop("logFormat", "log_format", string, optional=False)],
            },
            "demo.Statement": {
                "kind": "interface",
                "datatype": True,
                "properties": [prop("actions", "actions", string, optional=True)],
            },
        },
    }


def test_extracts_arguments_blocks_and_requiredness() -> None:
    snap = build(assembly(), "demo", {"resource": {"demo_thing"}, "data": {"demo_thing"}})
    assert snap["provider_version"] == "1.2.3"
    assert snap["all_types"] == {"resource": ["demo_other", "demo_thing"], "data": ["demo_thing"]}
    assert set(snap["resource"]) == {"demo_thing"}  # only the wanted types in full
    thing = snap["resource"]["demo_thing"]
    assert thing["arguments"] == {
        "fifo_queue": {"required": False},  # no link: camelCase converted
        "kms_master_key_id": {"required": True},
        "provider": {"required": False},  # renamed by cdktf, real name from the link
        "tags": {"required": False},
    }
    assert thing.pop("attributes") == [
        "arn",
        "kms_master_key_id",  # not its `...Input` twin
        "logging_config",
        "output_base64_sha256",  # computed only: both spellings of the digits
        "output_base64sha256",
        "provider",  # the docs link's name, not `provider_attribute`
    ]
    assert thing["blocks"] == {
        "logging_config": {
            "required": False,
            "max_items": 1,
            "arguments": {"log_format": {"required": True}},
            "blocks": {},
        },
        "statement": {
            "required": True,
            "arguments": {"actions": {"required": False}},
            "blocks": {},
        },
    }
    assert snap["data"]["demo_thing"]["arguments"] == {"name": {"required": False}}
    assert snap["data"]["demo_thing"]["attributes"] == []
    assert snap["provider_config"]["arguments"] == {"region": {"required": False}}


def test_refuses_an_assembly_without_the_provider() -> None:
    with pytest.raises(ValueError, match="no aws resources"):
        build(assembly(), "aws", {"resource": set(), "data": set()})
