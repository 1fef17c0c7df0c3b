"""The whole dev stack rehearsed: `--step all`, realistic profile, every check passes.

The rehearsal is the session's shared one (tests/conftest.py `dev_rehearsal`).
"""

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DevRehearsal

REPORT_FIELDS = {
    "stack",
    "profile",
    "note",
    "outputs",
    "resources",
    "checks",
    "simulated_deploy_seconds",
    "simulated_destroy_seconds",
    "critical_path_seconds",
    "api_calls",
    "throttled_calls",
    "destroy",
    "error",
    "real_seconds",
}
CHECKS = {
    "up",
    "outputs_present",
    "key_encrypts_and_decrypts",
    "cluster_active_with_hsms",
    "crypto_user_full_coverage",
    "key_store_connected",
    "refresh",
    "up_again",
    "destroy",
    "no_hourly_charges_left",
}


@pytest.fixture
def workdir(dev_rehearsal: DevRehearsal) -> Path:
    return dev_rehearsal.workdir


@pytest.fixture
def rehearsal(dev_rehearsal: DevRehearsal) -> tuple[int, dict[str, Any]]:
    return dev_rehearsal.exit_code, dev_rehearsal.report


def test_all_on_dev_stack_passes_every_check(rehearsal: tuple[int, dict]) -> None:
    exit_code, report = rehearsal

    assert report["error"] is None
    assert report["checks"] == dict.fromkeys(CHECKS, "pass")
    assert exit_code == 0


def test_all_on_dev_stack_report_has_every_field(rehearsal: tuple[int, dict]) -> None:
    _, report = rehearsal

    assert REPORT_FIELDS <= set(report)
    assert report["stack"] == "dev" and report["profile"] == "realistic"
    assert report["api_calls"]["cloudhsmv2"]["CreateHsm"] == 2
    assert report["throttled_calls"] == 0


def test_all_on_dev_stack_times_are_simulated(rehearsal: tuple[int, dict]) -> None:
    _, report = rehearsal

    # realistic profile: cluster 300 + HSM 720 + initialize 300 + HSM 720
    # + connect 1200.
    assert report["critical_path_seconds"] == 3240
    assert report["simulated_deploy_seconds"] >= report["critical_path_seconds"]
    assert report["simulated_destroy_seconds"] > 0
    assert "simulated" in report["note"]


def test_all_on_dev_stack_hides_secret_outputs(rehearsal: tuple[int, dict]) -> None:
    _, report = rehearsal

    assert report["outputs"]["caPrivateKey"] == "[secret]"
    assert "PRIVATE KEY" not in json.dumps(report)


def test_all_on_dev_stack_lists_what_stays_with_dates(
    rehearsal: tuple[int, dict],
) -> None:
    _, report = rehearsal
    remaining = {item["type"]: item for item in report["destroy"]["remaining"]}

    key = remaining["aws:kms/key:Key"]
    store = remaining["aws:kms/customKeyStore:CustomKeyStore"]
    assert key["state"] == "pending deletion" and key["until"]
    assert store["delete_after"] == key["until"]
    assert store["how"].startswith("python -m providers.cleanup --custom-key-store-id")


def test_all_on_dev_stack_keeps_no_state(
    rehearsal: tuple[int, dict], workdir: Path
) -> None:
    _, report = rehearsal

    created = [r for r in report["resources"] if r["step"] == "up"]
    deleted = [r for r in report["resources"] if r["step"] == "destroy"]
    assert len(created) == len(deleted)
    assert all(r["operation"] == "create" for r in created)
    assert list((workdir / "state").iterdir()) == []
