"""`up` killed after each step's AWS side effect, then recovered: one of each, always.

The scenario (conftest.py) interrupts the dev stack's `up` at every step of the
chain in turn. pulumi-aws steps go through `--step recover` (python -m recovery,
then the refresh it prints); dynamic steps need nothing: their next create
adopts what exists.
"""

from __future__ import annotations

import json

import pytest

from tests.reliability.conftest import Scenario, Stage, operation_of


def cli_runs(scenario: Scenario, *words: str) -> int:
    """How many cloudhsm-cli commands on the admin instance held these words."""
    instances = scenario.emulator.workdir / "instances"
    runs = 0
    for log in instances.glob("*/argv.log"):
        for line in log.read_text().splitlines():
            argv = json.loads(line)
            runs += all(word in argv for word in words)
    return runs


def assert_interrupted_after_create(stage: Stage, name: str) -> None:
    assert stage.error is not None
    assert "interrupted after creating" in stage.error
    assert name in stage.pending
    assert name not in stage.recorded


def assert_imported_by_recovery(stage: Stage, name: str) -> None:
    assert stage.recover is not None and stage.next_up is not None
    assert stage.recover.checks == {"recover": "pass"}
    assert operation_of(stage.recover, name) == "import"
    assert operation_of(stage.next_up, name) == "same"


def assert_adopted_by_next_up(stage: Stage, name: str) -> None:
    assert stage.next_up is not None
    if stage.recover is not None:
        assert operation_of(stage.recover, name) == "clear"
    assert operation_of(stage.next_up, name) == "create"


# A step that calls AWS, how the run after the interruption resolves it (the
# recovery imports a pulumi-aws resource; the next up adopts a dynamic one), the
# call, how many of those calls the interrupted `up` had made, and how many
# stand once every step is through.
AWS_STEPS = [
    ("cluster-cluster", "imported", "CreateCluster", 1, 1),
    ("cluster-hsm-0", "imported", "CreateHsm", 1, 2),
    ("cluster-csr-signing", "adopted", "InitializeCluster", 0, 1),
    ("cluster-initialization", "adopted", "InitializeCluster", 1, 1),
    ("cluster-hsm-1", "imported", "CreateHsm", 2, 2),
    ("key-store-store", "imported", "CreateCustomKeyStore", 1, 1),
    ("key-store-connection", "adopted", "ConnectCustomKeyStore", 1, 1),
    ("key-store-key", "imported", "CreateKey", 1, 1),
]
RESOLUTIONS = {
    "imported": assert_imported_by_recovery,
    "adopted": assert_adopted_by_next_up,
}

# The dynamic steps that act on the HSM through cloudhsm-cli, and its words.
ADOPTED_CLI_STEPS = [
    ("cluster-activation", ("cluster", "activate")),
    ("cluster-kmsuser", ("user", "create")),
]


@pytest.mark.parametrize(
    ("name", "resolution", "operation", "calls_when_interrupted", "calls_in_the_end"),
    AWS_STEPS,
    ids=[step[0] for step in AWS_STEPS],
)
def test_up_interrupted_after_aws_step_is_resolved_and_called_once(
    scenario: Scenario,
    name: str,
    resolution: str,
    operation: str,
    calls_when_interrupted: int,
    calls_in_the_end: int,
) -> None:
    stage = scenario.stages[name]

    assert_interrupted_after_create(stage, name)
    assert stage.calls[operation] == calls_when_interrupted
    RESOLUTIONS[resolution](stage, name)
    assert scenario.calls_after_up[operation] == calls_in_the_end


@pytest.mark.parametrize(
    ("name", "words"), ADOPTED_CLI_STEPS, ids=[s[0] for s in ADOPTED_CLI_STEPS]
)
def test_up_interrupted_after_hsm_step_is_adopted_and_run_once(
    scenario: Scenario, name: str, words: tuple[str, ...]
) -> None:
    stage = scenario.stages[name]

    assert_interrupted_after_create(stage, name)
    assert_adopted_by_next_up(stage, name)
    assert cli_runs(scenario, *words) == 1


def test_up_after_every_interruption_converges_on_one_of_each(
    scenario: Scenario,
) -> None:
    facts = scenario.facts
    coverage = [user["cluster-coverage"] for user in facts["kmsusers"]]

    assert [cluster["State"] for cluster in facts["clusters"]] == ["ACTIVE"]
    assert len(facts["hsms"]) == 2
    assert len({hsm["AvailabilityZone"] for hsm in facts["hsms"]}) == 2
    assert coverage == ["full"]
    assert len(facts["key_stores"]) == 1
    assert len(facts["keys"]) == 1


def test_up_after_every_interruption_passes_every_check(scenario: Scenario) -> None:
    assert scenario.final_up is not None

    assert scenario.final_up.error is None
    assert set(scenario.final_up.checks.values()) == {"pass"}
    assert not scenario.workdir.load_pending()


def test_up_after_recovery_changes_nothing(scenario: Scenario) -> None:
    assert scenario.noop_up is not None
    changed = [
        (r["name"], r["operation"])
        for r in scenario.noop_up.resources
        if r["operation"] not in ("same", "component")
    ]

    assert scenario.noop_up.error is None
    assert changed == []


def test_destroy_after_interruptions_leaves_nothing_billed(scenario: Scenario) -> None:
    assert scenario.destroy is not None

    assert scenario.destroy.checks == {
        "destroy": "pass",
        "no_hourly_charges_left": "pass",
    }
    # What stays waits out a deletion window, and none of it is billed hourly.
    left = {item["type"] for item in scenario.destroy.remaining}
    assert {"aws:kms/key:Key", "aws:kms/customKeyStore:CustomKeyStore"} <= left
    assert left <= {
        "aws:kms/key:Key",
        "aws:kms/customKeyStore:CustomKeyStore",
        "aws:secretsmanager/secret:Secret",
    }
