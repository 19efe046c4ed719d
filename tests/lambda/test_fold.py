"""The streaming fold decides exactly as `policy.kept` over the whole history, however the
history is cut into windows and however often its state goes through a message."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamodb_backup.fold import (
    Candidate,
    StateError,
    Step,
    TableFold,
    feed,
    finish,
    state_from_json,
    state_to_json,
    states_from_json,
    states_to_json,
)
from dynamodb_backup.policy import Policy, kept
from dynamodb_backup.tiers import Dated, Tiers, newest_first

NOW = datetime(2027, 1, 3, 4, 0, tzinfo=UTC)  # 2026 has an ISO week 53 (Dec 28 - Jan 3)


def reference(history: list[Candidate], policy: Policy) -> tuple[set[str], int]:
    """Deleted ARNs and bytes kept, decided over the whole history at once."""
    keep = kept((Dated(b.arn, b.created) for b in history), policy, NOW)
    deleted = {b.arn for b in history if b.arn not in keep}
    return deleted, sum(b.size for b in history if b.arn in keep)


def folded(
    history: list[Candidate], policy: Policy, cuts: list[int], through_json: bool
) -> tuple[list[str], int]:
    """Feed `history` newest first in windows cut at `cuts` (indexes), then finish."""
    ordered = [
        b
        for d in newest_first(Dated(b.arn, b.created) for b in history)
        for b in history
        if b.arn == d.arn
    ]
    state = TableFold.start(policy)
    step = Step()
    bounds = [0, *sorted(set(cuts)), len(ordered)]
    for low, high in itertools.pairwise(bounds):
        window = ordered[low:high]
        # a window comes in any order (ListBackups' order is not newest first)
        feed(state, list(reversed(window)), policy, NOW, into=step)
        if through_json:
            state = state_from_json(json.loads(json.dumps(state_to_json(state))))
    step.kept_bytes += finish(state)
    return [b.arn for b in step.doomed], step.kept_bytes


# creation times spread over ~3 years around year ends, with several per day and gaps
moments = st.integers(min_value=0, max_value=3 * 365 * 24 * 60).map(
    lambda minutes: NOW - timedelta(minutes=minutes)
)
histories = st.lists(
    st.tuples(moments, st.integers(min_value=0, max_value=10**6)), max_size=60
).map(
    lambda items: [
        Candidate(f"arn:aws:dynamodb:eu-west-1:1:table/t/backup/{i:05d}", created, size)
        for i, (created, size) in enumerate(items)
    ]
)
policies = st.builds(
    lambda days, min_keep, d, w, m, y: Policy(days, min_keep, Tiers(d, w, m, y)),
    st.integers(min_value=1, max_value=400),
    st.integers(min_value=1, max_value=8),
    st.integers(min_value=0, max_value=10),
    st.integers(min_value=0, max_value=6),
    st.integers(min_value=0, max_value=14),
    st.integers(min_value=0, max_value=3),
)


@settings(max_examples=400, deadline=None)
@given(
    history=histories,
    policy=policies,
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=8),
    through_json=st.booleans(),
)
def test_the_fold_decides_as_the_whole_history(
    history: list[Candidate], policy: Policy, cuts: list[int], through_json: bool
) -> None:
    doomed, kept_bytes = folded(
        history, policy, [c for c in cuts if c <= len(history)], through_json
    )
    deleted, expected_bytes = reference(history, policy)
    assert len(doomed) == len(set(doomed)), "a backup decided twice"
    assert set(doomed) == deleted
    assert kept_bytes == expected_bytes


@settings(max_examples=200, deadline=None)
@given(history=histories, policy=policies)
def test_the_newest_backup_and_everything_young_are_never_deleted(
    history: list[Candidate], policy: Policy
) -> None:
    doomed, _ = folded(history, policy, [], False)
    if history:
        newest = newest_first(Dated(b.arn, b.created) for b in history)[0]
        assert newest.arn not in doomed
    young = {b.arn for b in history if b.created >= NOW - timedelta(days=policy.retention_days)}
    assert not young & set(doomed)


def test_a_pending_oldest_is_deleted_only_when_an_older_one_arrives() -> None:
    policy = Policy(retention_days=1, tiers=Tiers(monthly=3))
    day = timedelta(days=1)
    newest = Candidate("arn:a:3", NOW - 10 * day, 30)  # keeps January for monthly
    same_month = Candidate("arn:a:2", NOW - 10 * day - timedelta(hours=1), 20)
    older = Candidate("arn:a:1", NOW - 11 * day, 10)  # same month again
    state = TableFold.start(policy)

    first = feed(state, [same_month, newest], policy, NOW)
    assert first.doomed == []
    assert first.kept_bytes == 30
    assert state.pending == same_month  # the oldest so far: monthly would keep it

    second = feed(state, [older], policy, NOW)
    assert second.doomed == [same_month]  # no longer the oldest
    assert finish(state) == 10  # the oldest of all, kept by monthly's count left


def test_a_settled_table_travels_by_name_only() -> None:
    policy = Policy(retention_days=1, min_keep=1, tiers=Tiers(daily=1))
    settled = TableFold.start(policy)
    feed(settled, [Candidate("arn:a:1", NOW, 5)], policy, NOW)
    active = TableFold.start(Policy(retention_days=1, tiers=Tiers(weekly=2)))
    doc = states_to_json({"orders": settled, "users": active})
    assert doc["settled"] == ["orders"]
    assert list(doc["active"]) == ["users"]
    back = states_from_json(json.loads(json.dumps(doc)))
    assert back["orders"].settled()
    assert not back["users"].settled()
    assert back["users"].tiers["weekly"].left == 2


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [1, {}, None, 4],
        [-1, {}, None],
        [True, {}, None],
        [1, [], None],
        [1, {"hourly": [1, None]}, None],
        [1, {"daily": [1, [2026, 1]]}, None],  # a day needs year, month, day
        [1, {"weekly": [1, [2026, 0]]}, None],
        [1, {"weekly": [-1, None]}, None],
        [1, {}, ["not-an-arn", 1]],
        [1, {}, ["arn:x", -5]],
        [1, {}, "arn:x"],
    ],
)
def test_a_malformed_state_is_refused(raw: object) -> None:
    with pytest.raises(StateError):
        state_from_json(raw)


@pytest.mark.parametrize(
    "raw",
    [
        [],
        {"settled": []},
        {"settled": "orders", "active": {}},
        {"settled": [""], "active": {}},
        {"settled": ["a"], "active": {"a": [0, {}, None]}},
        {"settled": [], "active": []},
    ],
)
def test_malformed_tables_are_refused(raw: object) -> None:
    with pytest.raises(StateError):
        states_from_json(raw)
