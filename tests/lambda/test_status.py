"""What each backup status means to the monitor, including the timeout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dynamodb_backup.status import Outcome, classify

START = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def test_available_is_success() -> None:
    assert classify("AVAILABLE", START, START, 360).outcome is Outcome.SUCCEEDED


def test_deleted_and_missing_are_failures() -> None:
    deleted = classify("DELETED", START, START, 360)
    missing = classify(None, START, START, 360)
    assert deleted.outcome is missing.outcome is Outcome.FAILED
    assert deleted.reason == "backup status DELETED while waiting for AVAILABLE"
    assert missing.reason == "backup not found"


def test_creating_waits_until_max_wait_then_times_out() -> None:
    just_before = classify("CREATING", START, START + timedelta(minutes=359, seconds=59), 360)
    at_limit = classify("CREATING", START, START + timedelta(minutes=360), 360)
    assert just_before.outcome is Outcome.PENDING
    assert at_limit.outcome is Outcome.FAILED
    assert at_limit.reason == (
        "timed out: still CREATING 360 minutes after the run started (MAX_WAIT_MINUTES=360)"
    )


def test_unknown_status_is_a_failure_not_a_silent_success() -> None:
    verdict = classify("RESTORING", START, START, 360)
    assert verdict.outcome is Outcome.FAILED
    assert verdict.reason == "unexpected backup status RESTORING"
