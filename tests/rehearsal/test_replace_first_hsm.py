"""The dev stack rehearsed while AWS replaces the first HSM before initialization.

The emulator's `replace_first_hsm` fault gives the first HSM a new key (same
HSM id, ENI and IP) right before the cluster CSR is first read, so the CSR
changes. The run must initialize the cluster with the CSR it shows then, pass
every check, and destroy every HSM and the cluster for real.
"""

from __future__ import annotations

import pytest

from tests.rehearsal.rehearsal_capture import (
    CapturedRun,
    SharedEmulator,
    rehearse,
    write_config,
)
from tests.rehearsal.test_rehearsal import CHECKS


@pytest.fixture(scope="module")
def replaced_run(
    tmp_path_factory: pytest.TempPathFactory, shared_emulator: SharedEmulator
) -> CapturedRun:
    workdir = tmp_path_factory.mktemp("replace-first-hsm")
    config = write_config(workdir.parent / "replace-first-hsm.yaml", None)
    return rehearse(shared_emulator, config, workdir, "replace_first_hsm")


def test_all_with_first_hsm_replaced_passes_every_check(
    replaced_run: CapturedRun,
) -> None:
    report = replaced_run.report

    assert report["error"] is None
    assert report["checks"] == dict.fromkeys(CHECKS, "pass")
    assert replaced_run.exit_code == 0


def test_all_with_first_hsm_replaced_initializes_with_the_new_key(
    replaced_run: CapturedRun, shared_emulator: SharedEmulator
) -> None:
    cluster_id = replaced_run.report["outputs"]["clusterId"]

    cluster = shared_emulator.emulator.cloudhsm.cluster(cluster_id)

    # InitializeCluster accepts only a certificate for the CSR key shown now.
    assert cluster.first_hsm_replaced is True
    assert cluster.cluster_certificate is not None


def test_all_with_first_hsm_replaced_destroys_each_hsm_it_created(
    replaced_run: CapturedRun, shared_emulator: SharedEmulator
) -> None:
    cluster_id = replaced_run.report["outputs"]["clusterId"]
    hsms = {
        item["name"]: item["operation"]
        for item in replaced_run.report["resources"]
        if item["type"] == "aws:cloudhsmv2/hsm:Hsm" and item["step"] == "destroy"
    }

    cluster = shared_emulator.emulator.cloudhsm.cluster(cluster_id)

    assert hsms == {"cluster-hsm-0": "delete", "cluster-hsm-1": "delete"}
    assert (cluster.current_state(), cluster.hsms) == ("DELETED", [])
    # The HSM kept its id, so destroy found it: no delete was excused.
    assert "already gone, counted as deleted" not in replaced_run.printed
