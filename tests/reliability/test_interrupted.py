"""`up` killed after each step's AWS side effect, then recovered: one of each, always.

The scenario (conftest.py) interrupts the dev stack's `up` at every step of the
chain in turn. pulumi-aws steps go through `--step recover` (python -m recovery,
then the refresh it prints); dynamic steps need nothing: their next create
adopts what exists.
"""

from __future__ import annotations

import json

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


def test_up_interrupted_after_create_cluster_converges_on_one_cluster(
    scenario: Scenario,
) -> None:
    name = "cluster-cluster"
    stage = scenario.stages[name]

    assert_interrupted_after_create(stage, name)
    assert stage.calls["CreateCluster"] == 1
    assert_imported_by_recovery(stage, name)
    assert scenario.calls_after_up["CreateCluster"] == 1
    assert len(scenario.facts["clusters"]) == 1


def test_up_interrupted_after_first_hsm_converges_on_one_hsm_per_zone(
    scenario: Scenario,
) -> None:
    name = "cluster-hsm-0"
    stage = scenario.stages[name]

    assert_interrupted_after_create(stage, name)
    assert stage.calls["CreateHsm"] == 1
    assert_imported_by_recovery(stage, name)
    hsms = scenario.facts["hsms"]
    assert len(hsms) == 2
    assert len({hsm["AvailabilityZone"] for hsm in hsms}) == 2


def test_up_interrupted_after_csr_signing_signs_again_and_initializes_once(
    scenario: Scenario,
) -> None:
    name = "cluster-csr-signing"
    stage = scenario.stages[name]

    assert_interrupted_after_create(stage, name)
    assert stage.calls["InitializeCluster"] == 0
    assert_adopted_by_next_up(stage, name)
    assert scenario.calls_after_up["InitializeCluster"] == 1


def test_up_interrupted_after_initialize_cluster_adopts_initialized_cluster(
    scenario: Scenario,
) -> None:
    name = "cluster-initialization"
    stage = scenario.stages[name]

    assert_interrupted_after_create(stage, name)
    assert stage.calls["InitializeCluster"] == 1
    assert_adopted_by_next_up(stage, name)
    assert scenario.calls_after_up["InitializeCluster"] == 1


def test_up_interrupted_after_activation_adopts_active_cluster(
    scenario: Scenario,
) -> None:
    name = "cluster-activation"
    stage = scenario.stages[name]

    assert_interrupted_after_create(stage, name)
    assert_adopted_by_next_up(stage, name)
    assert cli_runs(scenario, "cluster", "activate") == 1
    assert scenario.facts["clusters"][0]["State"] == "ACTIVE"


def test_up_interrupted_after_crypto_user_adopts_one_kmsuser(
    scenario: Scenario,
) -> None:
    name = "cluster-kmsuser"
    stage = scenario.stages[name]

    assert_interrupted_after_create(stage, name)
    assert_adopted_by_next_up(stage, name)
    assert cli_runs(scenario, "user", "create") == 1
    coverage = [user["cluster-coverage"] for user in scenario.facts["kmsusers"]]
    assert coverage == ["full"]


def test_up_interrupted_after_second_hsm_converges_on_two_hsms(
    scenario: Scenario,
) -> None:
    name = "cluster-hsm-1"
    stage = scenario.stages[name]

    assert_interrupted_after_create(stage, name)
    assert stage.calls["CreateHsm"] == 2
    assert_imported_by_recovery(stage, name)
    assert scenario.calls_after_up["CreateHsm"] == 2


def test_up_interrupted_after_key_store_converges_on_one_key_store(
    scenario: Scenario,
) -> None:
    name = "key-store-store"
    stage = scenario.stages[name]

    assert_interrupted_after_create(stage, name)
    assert stage.calls["CreateCustomKeyStore"] == 1
    assert_imported_by_recovery(stage, name)
    assert scenario.calls_after_up["CreateCustomKeyStore"] == 1
    assert len(scenario.facts["key_stores"]) == 1


def test_up_interrupted_after_connection_adopts_connected_key_store(
    scenario: Scenario,
) -> None:
    name = "key-store-connection"
    stage = scenario.stages[name]

    assert_interrupted_after_create(stage, name)
    assert stage.calls["ConnectCustomKeyStore"] == 1
    assert_adopted_by_next_up(stage, name)
    assert scenario.calls_after_up["ConnectCustomKeyStore"] == 1


def test_up_interrupted_after_create_key_converges_on_one_key(
    scenario: Scenario,
) -> None:
    name = "key-store-key"
    stage = scenario.stages[name]

    assert_interrupted_after_create(stage, name)
    assert stage.calls["CreateKey"] == 1
    assert_imported_by_recovery(stage, name)
    assert scenario.calls_after_up["CreateKey"] == 1
    assert len(scenario.facts["keys"]) == 1


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
