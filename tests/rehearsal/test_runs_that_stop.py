"""Rehearsals that must stop: a state that never ends stops at the stack's
deadline, with a message naming the resource, the state, how long it waited
and what to try; destroy with a protected key stops before touching anything.

The stack config sets waitTimeoutMinutes and connectTimeoutMinutes to their
minimum (10); the runs share one emulator, each as its own stack.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3
import yaml

from rehearsal.engine.cli import PROJECT_DIR
from rehearsal.engine.config import RehearsalConfig, load_config_file
from rehearsal.engine.runner import Rehearsal, RehearsalOptions, RunContext
from tests.rehearsal.rehearsal_capture import SharedEmulator
from tests.rehearsal.sample_program import sample_program


def rehearse_stuck(shared: SharedEmulator, workdir: Path, stuck: str) -> dict[str, Any]:
    """Rehearse a dev-like stack whose `stuck` state never ends; return the report."""
    stack = "stuck-" + stuck.split(":")[0].replace("_", "-")
    config_file = workdir / f"{stack}.yaml"
    values = {
        "aws:region": "us-east-1",
        "fips-keystore:protectKeys": False,
        "fips-keystore:keyDeletionWindowDays": 7,
        "fips-keystore:waitTimeoutMinutes": 10,
        "fips-keystore:connectTimeoutMinutes": 10,
    }
    config_file.write_text(yaml.safe_dump({"config": values}))
    options = RehearsalOptions(
        project_dir=PROJECT_DIR,
        config=load_config_file(config_file, PROJECT_DIR),
        workdir=workdir / stack,
        report_path=workdir / stack / "report.json",
        faults=f"stuck={stuck}",
        emulator=shared,
    )
    return Rehearsal(options).run().to_json()


def test_up_with_hsm_stuck_creating_stops_at_wait_timeout(
    shared_emulator: SharedEmulator, tmp_path: Path
) -> None:
    report = rehearse_stuck(shared_emulator, tmp_path, "hsm:CREATE_IN_PROGRESS")

    error = report["error"]
    assert error.startswith("aws:cloudhsmv2/hsm:Hsm cluster-hsm-0: HSM hsm-")
    assert "still CREATE_IN_PROGRESS after waiting 10m00s, past the deadline" in error
    assert "`pulumi config set waitTimeoutMinutes <minutes>`" in error
    assert report["checks"]["up"].startswith("fail: ")
    # The HSM that never became ACTIVE is in the state, so destroy deletes it.
    assert report["checks"]["destroy"] == "pass"
    assert report["checks"]["no_hourly_charges_left"] == "pass"


def test_up_with_cluster_stuck_initializing_stops_at_wait_timeout(
    shared_emulator: SharedEmulator, tmp_path: Path
) -> None:
    report = rehearse_stuck(shared_emulator, tmp_path, "cluster:INITIALIZE_IN_PROGRESS")

    error = report["error"]
    assert "ClusterInitialization cluster-initialization" in error
    assert "still INITIALIZE_IN_PROGRESS after waiting 10m00s" in error
    assert "when it is INITIALIZED run `pulumi up` again" in error
    assert report["checks"]["destroy"] == "pass"


def test_up_with_key_store_stuck_connecting_stops_at_connect_timeout(
    shared_emulator: SharedEmulator, tmp_path: Path
) -> None:
    report = rehearse_stuck(shared_emulator, tmp_path, "key_store:CONNECTING")

    error = report["error"]
    assert "KeyStoreConnection key-store-connection" in error
    assert "connection: still CONNECTING after waiting 10m00s" in error
    assert "Connecting can take 30 minutes" in error
    assert report["checks"]["destroy"] == "pass"


def no_checks(
    _context: RunContext, _outputs: Mapping[str, Any]
) -> dict[str, Callable[[], None]]:
    return {}


def test_destroy_with_protected_key_deletes_nothing_and_says_how_to_opt_in(
    shared_emulator: SharedEmulator, tmp_path: Path
) -> None:
    (tmp_path / "notes").mkdir()
    shared_emulator.link.set_faults({})
    options = RehearsalOptions(
        project_dir=PROJECT_DIR,
        config=RehearsalConfig("protected", tmp_path / "c.yaml", {}, frozenset()),
        workdir=tmp_path / "work",
        report_path=tmp_path / "report.json",
        program=sample_program(str(tmp_path / "notes"), protect_key=True),
        verify=no_checks,
        emulator=shared_emulator,
    )

    report = Rehearsal(options).run().to_json()

    error = report["error"]
    assert error.startswith("destroy stopped before touching anything: ")
    assert "aws:kms/key:Key key are protected" in error
    assert "pulumi config set protectKeys false" in error
    assert [r for r in report["resources"] if r["step"] == "destroy"] == []
    created = [r for r in report["resources"] if r["step"] == "up"]
    assert len(list((tmp_path / "work" / "state").iterdir())) >= len(created)
    kms, ec2 = (
        boto3.client("kms", **shared_env(shared_emulator)),
        boto3.client("ec2", **shared_env(shared_emulator)),
    )
    assert kms.describe_key(KeyId=report["outputs"]["keyId"])["KeyMetadata"]["Enabled"]
    assert len(ec2.describe_vpcs()["Vpcs"]) >= 2
    assert (tmp_path / "notes" / "n").exists()


def shared_env(shared: SharedEmulator) -> dict[str, str]:
    return {
        "endpoint_url": shared.emulator.url,
        "region_name": shared.emulator.region,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
