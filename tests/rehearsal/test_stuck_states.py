"""A state that never ends stops the rehearsal at the stack's deadline, with a
message naming the resource, the state, how long it waited and what to try.

The stack config sets waitTimeoutMinutes and connectTimeoutMinutes to their
minimum (10); the three runs share one emulator, each as its own stack.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from rehearsal.emulator import Emulator
from rehearsal.engine.cli import PROJECT_DIR
from rehearsal.engine.config import load_config_file
from rehearsal.engine.emulator_link import MANAGED_POLICIES_VARIABLE, EmulatorLink
from rehearsal.engine.runner import Rehearsal, RehearsalOptions


@dataclass
class SharedEmulator:
    """An emulator several rehearsals use; the runner leaves it running."""

    emulator: Emulator
    link: EmulatorLink
    profile: str = "fast"

    def stop(self) -> None:
        self.emulator.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedEmulator]:
    saved = os.environ.get(MANAGED_POLICIES_VARIABLE)
    os.environ[MANAGED_POLICIES_VARIABLE] = "true"
    emulator = Emulator("fast", tmp_path_factory.mktemp("stuck-emulator"))
    emulator.start()
    try:
        yield SharedEmulator(emulator, EmulatorLink(emulator.url, emulator.region))
    finally:
        emulator.stop()
        if saved is None:
            os.environ.pop(MANAGED_POLICIES_VARIABLE, None)
        else:
            os.environ[MANAGED_POLICIES_VARIABLE] = saved


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
    shared: SharedEmulator, tmp_path: Path
) -> None:
    report = rehearse_stuck(shared, tmp_path, "hsm:CREATE_IN_PROGRESS")

    error = report["error"]
    assert error.startswith("aws:cloudhsmv2/hsm:Hsm cluster-hsm-0: HSM hsm-")
    assert "still CREATE_IN_PROGRESS after waiting 10m00s, past the deadline" in error
    assert "`pulumi config set waitTimeoutMinutes <minutes>`" in error
    assert report["checks"]["up"].startswith("fail: ")


def test_up_with_cluster_stuck_initializing_stops_at_wait_timeout(
    shared: SharedEmulator, tmp_path: Path
) -> None:
    report = rehearse_stuck(shared, tmp_path, "cluster:INITIALIZE_IN_PROGRESS")

    error = report["error"]
    assert "ClusterInitialization cluster-initialization" in error
    assert "still INITIALIZE_IN_PROGRESS after waiting 10m00s" in error
    assert "when it is INITIALIZED run `pulumi up` again" in error
    assert report["checks"]["destroy"] == "pass"


def test_up_with_key_store_stuck_connecting_stops_at_connect_timeout(
    shared: SharedEmulator, tmp_path: Path
) -> None:
    report = rehearse_stuck(shared, tmp_path, "key_store:CONNECTING")

    error = report["error"]
    assert "KeyStoreConnection key-store-connection" in error
    assert "connection: still CONNECTING after waiting 10m00s" in error
    assert "Connecting can take 30 minutes" in error
    assert report["checks"]["destroy"] == "pass"
