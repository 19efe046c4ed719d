"""The IAM proof over the whole end-to-end session (runs after the scenarios).

Every scenario's calls were checked against its own rendered policies when it ended (a
denied call failed that scenario, see `conftest.deploy`). Here: every action the module
grants, statement by statement, was used by some scenario. A grant nobody needs fails.
"""

from __future__ import annotations

import pytest

from .conftest import ProofStore


def test_every_granted_action_is_used_by_some_scenario(
    proof_store: ProofStore, request: pytest.FixtureRequest
) -> None:
    scenarios = [
        item.nodeid
        for item in request.session.items
        if "deploy" in getattr(item, "fixturenames", ())
    ]
    if not any("test_scenarios.py" in nodeid for nodeid in scenarios):
        pytest.skip("the proof needs the scenarios of tests/e2e/test_scenarios.py in the run")
    deselected = {n for n in scenarios if n not in proof_store.results}
    ran = [proof_store.results[n] for n in scenarios if n in proof_store.results]
    assert ran, "no scenario recorded its calls"
    grants = set().union(*(r.grants for r in ran))
    used = set().union(*(r.used for r in ran))
    assert sum(r.calls for r in ran) > 0
    unused = sorted(grants - used)
    assert not unused, (
        "granted but never used by any end-to-end scenario "
        f"({len(deselected)} scenario(s) did not record): {unused}"
    )
