"""The performance budgets, guarded on the session's dev-stack rehearsal.

The shared rehearsal (tests/conftest.py `dev_rehearsal`) runs the realistic
profile, so these are the figures `make bench` prints, not a stand-in: a change
that serializes the graph, polls lazily or polls too often fails here.
"""

from typing import Any

import pytest

from rehearsal.bench import TARGETS, figures, targets_met
from tests.conftest import DevRehearsal


@pytest.fixture
def measured(dev_rehearsal: DevRehearsal) -> dict[str, Any]:
    assert dev_rehearsal.report["error"] is None
    return figures(dev_rehearsal.report)


def test_deploy_ratio_within_three_percent_of_the_chain(
    measured: dict[str, Any],
) -> None:
    assert measured["deploy_ratio"] <= TARGETS["deploy_ratio"]


def test_destroy_ratio_within_five_percent_of_the_destroy_chain(
    measured: dict[str, Any],
) -> None:
    assert measured["destroy_critical_path_seconds"] > 0
    assert measured["destroy_ratio"] <= TARGETS["destroy_ratio"]


def test_deployment_api_calls_within_budget(measured: dict[str, Any]) -> None:
    assert measured["api_calls_total"] <= TARGETS["api_calls_total"]


def test_poll_overhead_per_wait_within_budget(measured: dict[str, Any]) -> None:
    assert measured["waits"] > 0
    assert (
        measured["mean_poll_overhead_seconds"] <= TARGETS["mean_poll_overhead_seconds"]
    )


def test_targets_met_fails_a_missing_or_exceeded_figure() -> None:
    met = targets_met({"deploy_ratio": 1.2, "api_calls_total": 12})

    assert met["deploy_ratio"] is False
    assert met["api_calls_total"] is True
    assert met["destroy_ratio"] is False
