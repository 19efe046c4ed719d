"""The one place that reads the wall clock (so freezegun and tests can move it)."""

from __future__ import annotations

import datetime as _dt


def utc_now() -> _dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return _dt.datetime.now(_dt.UTC)
