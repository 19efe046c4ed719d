"""Typed, validated configuration read once per invocation from the environment."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dynamodb_backup.naming import PREFIX_RE, TABLE_RE
from dynamodb_backup.policy import (
    MAX_MIN_KEEP,
    MAX_RETENTION_DAYS,
    MAX_TIER,
    Policies,
    Policy,
    PolicyError,
    parse_overrides,
)
from dynamodb_backup.tiers import TIER_NAMES, Tiers

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
NAMESPACE_RE = re.compile(r"[A-Za-z0-9 ._/#:-]{1,255}")
DEFAULT_NAMESPACE = "DynamoDBBackup"
DEFAULT_DRILL_MAX_BACKUP_BYTES = 10 * 1024**3
DEFAULT_DRILL_MAX_WAIT_MINUTES = 720
MAX_DRILL_BACKUP_BYTES = 1024**5  # 1 PiB: past any table a drill should restore


class ConfigError(ValueError):
    """A missing or malformed environment variable; the message starts with its name."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def _required(env: Mapping[str, str], name: str) -> str:
    value = _optional(env, name)
    if value is None:
        raise ConfigError(name, "is required but not set")
    return value


def _int(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = _optional(env, name)
    if raw is None:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise ConfigError(
            name, f"expected a whole number from {minimum} to {maximum}, got {raw!r}"
        ) from None
    if not minimum <= value <= maximum:
        raise ConfigError(name, f"must be between {minimum} and {maximum}, got {value}")
    return value


def _table_list(raw: str, name: str) -> tuple[str, ...]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(name, f"expected a JSON array of table names: {exc}") from None
    if not isinstance(value, list):
        raise ConfigError(name, f"expected a JSON array of table names, got {type(value).__name__}")
    for item in value:
        if not isinstance(item, str) or not TABLE_RE.fullmatch(item):
            raise ConfigError(
                name, f"not a valid table name (want [a-zA-Z0-9_.-]{{3,255}}): {item!r}"
            )
    return tuple(value)


def _table_tags(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    raw = _optional(env, "TABLE_TAGS")
    if raw is None:
        return ()
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError("TABLE_TAGS", f"expected a JSON object of tags: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(
            "TABLE_TAGS", f"expected a JSON object of tags, got {type(value).__name__}"
        )
    tags: list[tuple[str, str]] = []
    for key, tag_value in value.items():
        if not key or not isinstance(tag_value, str):
            raise ConfigError(
                "TABLE_TAGS", f"tags must be non-empty keys with string values: {key!r}"
            )
        tags.append((key, tag_value))
    return tuple(sorted(tags))


def _table_names_file(env: Mapping[str, str], package_root: Path) -> tuple[str, ...]:
    text = _read_file(env, "TABLE_NAMES_FILE", package_root)
    return () if text is None else _table_list(text, "TABLE_NAMES_FILE")


EXCLUDE_EXAMPLE = '["tmp-*", "*-scratch"]'


def _patterns(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A JSON array of non-empty shell-style patterns (fnmatch); unset or blank: none."""
    raw = _optional(env, name)
    if raw is None:
        return ()
    want = (
        f"expected a JSON array of shell-style table name patterns, for example {EXCLUDE_EXAMPLE}"
    )
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(name, f"{want}: {exc}") from None
    if not isinstance(value, list):
        raise ConfigError(name, f"{want}, got {type(value).__name__}")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(name, f"{want}; every pattern must be a non-empty string: {item!r}")
    return tuple(value)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _optional(env, name)
    if raw is None:
        return default
    if raw not in ("true", "false"):
        raise ConfigError(name, f"expected true or false (for example 'false'), got {raw!r}")
    return raw == "true"


@dataclass(frozen=True)
class CommonConfig:
    """Variables both handlers read."""

    prefix: str
    queue_url: str
    topic_arn: str
    log_level: int
    metrics_namespace: str


def _common(env: Mapping[str, str]) -> CommonConfig:
    prefix = _optional(env, "BACKUP_NAME_PREFIX") or "scheduled"
    if not PREFIX_RE.fullmatch(prefix):
        raise ConfigError(
            "BACKUP_NAME_PREFIX",
            f"must be 1-64 of [a-zA-Z0-9_.-] starting with a letter or digit, got {prefix!r}",
        )
    queue_url = _required(env, "MONITOR_QUEUE_URL")
    if not queue_url.startswith(("https://", "http://")) or not queue_url.endswith(".fifo"):
        raise ConfigError(
            "MONITOR_QUEUE_URL",
            f"expected the URL of a FIFO queue (…/name.fifo), got {queue_url!r}",
        )
    topic_arn = _required(env, "ALERT_TOPIC_ARN")
    parts = topic_arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not parts[5]:
        raise ConfigError(
            "ALERT_TOPIC_ARN",
            "expected an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>), "
            f"got {topic_arn!r}",
        )
    level_name = (_optional(env, "LOG_LEVEL") or "INFO").upper()
    if level_name not in LOG_LEVELS:
        raise ConfigError(
            "LOG_LEVEL", f"expected one of {', '.join(LOG_LEVELS)}, got {level_name!r}"
        )
    namespace = _optional(env, "METRICS_NAMESPACE") or DEFAULT_NAMESPACE
    if not NAMESPACE_RE.fullmatch(namespace) or namespace.startswith("AWS/"):
        raise ConfigError(
            "METRICS_NAMESPACE",
            "expected 1-255 of letters, digits and . _ / # : - or space, not starting with "
            f"AWS/ (for example {DEFAULT_NAMESPACE!r}), got {namespace!r}",
        )
    return CommonConfig(
        prefix=prefix,
        queue_url=queue_url,
        topic_arn=topic_arn,
        log_level=logging.getLevelNamesMapping()[level_name],
        metrics_namespace=namespace,
    )


@dataclass(frozen=True)
class SchedulerConfig:
    """The scheduler's configuration."""

    common: CommonConfig
    table_names: tuple[str, ...]
    table_tags: tuple[tuple[str, str], ...]
    unprotected_exclude: tuple[str, ...] = ()
    alert_unprotected: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str], package_root: Path = PACKAGE_ROOT) -> SchedulerConfig:
        common = _common(env)
        raw_names = _optional(env, "TABLE_NAMES")
        names = _table_list(raw_names, "TABLE_NAMES") if raw_names is not None else ()
        from_file = _table_names_file(env, package_root)
        merged = tuple(sorted(set(names) | set(from_file)))
        return cls(
            common=common,
            table_names=merged,
            table_tags=_table_tags(env),
            unprotected_exclude=_patterns(env, "UNPROTECTED_TABLES_EXCLUDE"),
            alert_unprotected=_bool(env, "ALERT_UNPROTECTED_TABLES", default=False),
        )


def _read_file(env: Mapping[str, str], name: str, package_root: Path) -> str | None:
    """The text of the file a `*_FILE` variable names (relative to the zip root)."""
    raw = _optional(env, name)
    if raw is None:
        return None
    path = Path(raw)
    if not path.is_absolute():
        path = package_root / path
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(name, f"cannot read {str(path)!r}: {exc}") from None


def _policies(env: Mapping[str, str], package_root: Path) -> Policies:
    """The module-wide retention policy and the per-table overrides."""
    tiers = Tiers(
        **{name: _int(env, f"KEEP_{name.upper()}", 0, 0, MAX_TIER) for name in TIER_NAMES}
    )
    default = Policy(
        retention_days=_int(env, "RETENTION_DAYS", 3, 1, MAX_RETENTION_DAYS),
        min_keep=_int(env, "MIN_BACKUPS_TO_KEEP", 1, 1, MAX_MIN_KEEP),
        tiers=tiers,
    )
    overrides: dict[str, Policy] = {}
    for name, text in (
        ("RETENTION_OVERRIDES", _optional(env, "RETENTION_OVERRIDES")),
        ("RETENTION_OVERRIDES_FILE", _read_file(env, "RETENTION_OVERRIDES_FILE", package_root)),
    ):
        if text is None:
            continue
        try:
            overrides |= parse_overrides(text, default)
        except PolicyError as exc:
            raise ConfigError(
                name, f'{exc} (for example {{"orders": {{"keep_monthly": 12}}}})'
            ) from None
    return Policies(default=default, overrides=overrides)


@dataclass(frozen=True)
class MonitorConfig:
    """The monitor's configuration."""

    common: CommonConfig
    max_wait_minutes: int
    policies: Policies
    drill_max_wait_minutes: int = DEFAULT_DRILL_MAX_WAIT_MINUTES

    @property
    def retention_days(self) -> int:
        """The module-wide `RETENTION_DAYS` (a table's own: `policies.for_table`)."""
        return self.policies.default.retention_days

    @property
    def min_keep(self) -> int:
        """The module-wide `MIN_BACKUPS_TO_KEEP`."""
        return self.policies.default.min_keep

    @classmethod
    def from_env(cls, env: Mapping[str, str], package_root: Path = PACKAGE_ROOT) -> MonitorConfig:
        return cls(
            common=_common(env),
            max_wait_minutes=_int(env, "MAX_WAIT_MINUTES", 360, 1, 525600),
            policies=_policies(env, package_root),
            drill_max_wait_minutes=_drill_max_wait(env),
        )


def _drill_max_wait(env: Mapping[str, str]) -> int:
    return _int(env, "DRILL_MAX_WAIT_MINUTES", DEFAULT_DRILL_MAX_WAIT_MINUTES, 1, 10080)


@dataclass(frozen=True)
class DrillConfig:
    """The restore drill's configuration: the scheduler's selection (`selection`, read
    exactly as the scheduler reads it) plus the `DRILL_*` variables."""

    selection: SchedulerConfig
    drill_tables: tuple[str, ...]
    max_backup_bytes: int
    max_wait_minutes: int

    @property
    def common(self) -> CommonConfig:
        return self.selection.common

    @classmethod
    def from_env(cls, env: Mapping[str, str], package_root: Path = PACKAGE_ROOT) -> DrillConfig:
        raw = _optional(env, "DRILL_TABLES")
        return cls(
            selection=SchedulerConfig.from_env(env, package_root),
            drill_tables=tuple(sorted(set(_table_list(raw, "DRILL_TABLES")))) if raw else (),
            max_backup_bytes=_int(
                env,
                "DRILL_MAX_BACKUP_BYTES",
                DEFAULT_DRILL_MAX_BACKUP_BYTES,
                1,
                MAX_DRILL_BACKUP_BYTES,
            ),
            max_wait_minutes=_drill_max_wait(env),
        )
