"""Fixtures of the end-to-end tests: one virtual clock and one moto server per session.

The clock is installed before any handler module is imported (see `localrun.clock`).
Each test gets the server reset (no resources, interceptors or recorded calls) and the
clock at `START`. `deploy` builds the test's deployment; when the test ends, every call
the functions made is checked against the module's IAM policies rendered for that
deployment (a denied call fails the test), and the result is kept for the session-wide
"every grant is used" check in `test_zz_iam_proof.py`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from localrun.aws_like import BackupDuration
from localrun.clock import VirtualClock, install
from localrun.cycle import LocalDeployment, Settings
from localrun.iam import ProofResult, authorised_requests, check_calls, render_policies
from localrun.server import LocalAws

START = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


@dataclass
class ProofStore:
    results: dict[str, ProofResult] = field(default_factory=dict)


@pytest.fixture(scope="session")
def clock() -> Iterator[VirtualClock]:
    assert "dynamodb_backup.monitor" not in sys.modules, "install the clock before the handlers"
    virtual = VirtualClock(START)
    with install(virtual):
        yield virtual


@pytest.fixture(scope="session")
def server(clock: VirtualClock) -> Iterator[LocalAws]:
    with LocalAws() as aws:
        yield aws


@pytest.fixture(scope="session")
def proof_store() -> ProofStore:
    return ProofStore()


@pytest.fixture
def aws(server: LocalAws, clock: VirtualClock) -> LocalAws:
    server.reset()
    clock.move_to(START)
    return server


Deploy = Callable[..., LocalDeployment]


@pytest.fixture
def deploy(
    aws: LocalAws, clock: VirtualClock, proof_store: ProofStore, request: pytest.FixtureRequest
) -> Iterator[Deploy]:
    """Build the test's deployment; called again, another instance in the same account
    (another `Settings.name`): it shares the first's AWS semantics and gets principals of
    its own (`<name>.scheduler`, `<name>.monitor`), so each instance's calls are checked
    against its own rendered policies (its queue, its topic, its log groups)."""
    made: list[LocalDeployment] = []

    def make(
        settings: Settings, backup_duration: BackupDuration = lambda _t: 120.0
    ) -> LocalDeployment:
        assert settings.name not in {d.settings.name for d in made}, "instances need names"
        if not made:
            deployment = LocalDeployment(aws, clock, settings, backup_duration)
        else:
            deployment = LocalDeployment(
                aws,
                clock,
                settings,
                semantics=made[0].semantics,
                principals=(f"{settings.name}.scheduler", f"{settings.name}.monitor"),
            )
        made.append(deployment)
        return deployment

    yield make
    tags: dict[str, dict[str, str]] = {}
    for deployment in made:
        tags |= deployment.table_tags  # the tables are the account's, whoever created them
    combined = ProofResult()
    for deployment in made:
        roles = {
            deployment.scheduler.principal: "scheduler",
            deployment.monitor.principal: "monitor",
        }
        if deployment.drill is not None:
            roles[deployment.drill.function.principal] = "drill"
        calls = [
            (roles[c.call.principal], action, resource)
            for c in aws.calls
            if c.call.principal in roles
            for action, resource in authorised_requests(
                c.call.action, c.call.resource_arn, c.call.params, aws.region, aws.account
            )
        ]
        result = check_calls(render_policies(deployment.policy_inputs()), calls, tags)
        combined.denials += [f"{deployment.settings.name}: {d}" for d in result.denials]
        combined.grants |= result.grants
        combined.used |= result.used
        combined.calls += result.calls
    proof_store.results[request.node.nodeid] = combined
    assert not combined.denials, "calls the module's IAM policy denies:\n" + "\n".join(
        sorted(set(combined.denials))
    )
