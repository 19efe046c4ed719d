"""Logging as key/value fields through the standard `logging` module."""

from __future__ import annotations

import json
import logging

_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}


def setup(level: int) -> None:
    """Set the level; add a stderr handler only when nothing (e.g. Lambda) installed one."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(levelname)s %(name)s %(message)s")
    root.setLevel(level)
    logging.getLogger("dynamodb_backup").setLevel(level)


def _text(value: object) -> str:
    if isinstance(value, str) and value and " " not in value and '"' not in value:
        return value
    return json.dumps(value, default=str)


def log_event(logger: logging.Logger, level: int, event: str, **fields: object) -> None:
    """Log `event` with `fields` both in the text (k=v) and as record attributes."""
    if not logger.isEnabledFor(level):
        return
    text = " ".join([event, *(f"{k}={_text(v)}" for k, v in fields.items())])
    extra = {(f"f_{k}" if k in _RESERVED else k): v for k, v in fields.items()}
    logger.log(level, "%s", text, extra=extra)
