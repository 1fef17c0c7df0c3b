"""The engine end to end on a small program: up, refresh, up again, destroy."""

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from rehearsal.engine.config import RehearsalConfig
from rehearsal.engine.emulator_link import AttachedEmulator
from rehearsal.engine.errors import EmulatorError
from rehearsal.engine.runner import Rehearsal, RehearsalOptions, RunContext
from tests.rehearsal.rehearsal_capture import SharedEmulator
from tests.rehearsal.sample_program import sample_program
from tests.rehearsal.test_rehearsal import REPORT_FIELDS

PROJECT_DIR = Path(__file__).resolve().parents[2]


def note_checks(directory: Path) -> Callable[..., dict[str, Callable[[], None]]]:
    def verify(
        _context: RunContext, outputs: Mapping[str, Any]
    ) -> dict[str, Callable[[], None]]:
        def note_written() -> None:
            if (directory / "n").read_text() != "hello":
                raise ValueError("note n does not hold the text")

        return {"note_written": note_written}

    return verify


def rehearse(
    tmp_path: Path,
    faults: str = "",
    emulator: SharedEmulator | None = None,
    **program_options: Any,
) -> dict[str, Any]:
    notes = tmp_path / "notes"
    notes.mkdir()
    config = RehearsalConfig("test", tmp_path / "config.yaml", {}, frozenset())
    options = RehearsalOptions(
        project_dir=PROJECT_DIR,
        config=config,
        workdir=tmp_path / "work",
        report_path=tmp_path / "report.json",
        program=sample_program(str(notes), **program_options),
        verify=note_checks(notes),
        faults=faults,
        emulator=emulator,
    )
    Rehearsal(options).run()
    return json.loads(options.report_path.read_text())


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return rehearse(tmp_path_factory.mktemp("all"))


def test_all_on_sample_program_passes_every_check(report: dict[str, Any]) -> None:
    assert report["error"] is None
    assert report["checks"] == {
        "up": "pass",
        "note_written": "pass",
        "refresh": "pass",
        "up_again": "pass",
        "destroy": "pass",
        "no_hourly_charges_left": "pass",
    }


def test_all_report_replaces_secret_outputs(report: dict[str, Any]) -> None:
    assert report["outputs"]["token"] == "[secret]"
    assert report["outputs"]["noteLength"] == 5
    assert report["outputs"]["subnetId"].startswith("subnet-")


def test_all_report_lists_each_operation(report: dict[str, Any]) -> None:
    operations = {(r["step"], r["name"]): r["operation"] for r in report["resources"]}

    assert operations[("up", "note")] == "create"
    assert operations[("up_again", "note")] == "same"
    assert operations[("destroy", "key")] == "pending deletion"
    assert operations[("destroy", "note")] == "delete"


def test_all_report_lists_key_pending_deletion(report: dict[str, Any]) -> None:
    remaining = report["destroy"]["remaining"]

    assert [(item["name"], item["state"]) for item in remaining] == [
        ("key", "pending deletion")
    ]
    assert datetime.fromisoformat(remaining[0]["until"]).year >= 2026


def test_all_report_has_every_field(report: dict[str, Any]) -> None:
    assert REPORT_FIELDS <= set(report)
    assert report["api_calls"]["kms"]["CreateKey"] == 1
    assert "simulated" in report["note"]


def test_destroy_with_protected_key_stops_before_deleting(tmp_path: Path) -> None:
    report = rehearse(tmp_path, protect_key=True)

    assert report["checks"]["up"] == "pass"
    assert report["checks"]["destroy"] == f"fail: {report['error']}"
    assert "aws:kms/key:Key key are protected" in report["error"]
    assert "pulumi config set protectKeys false" in report["error"]
    assert (tmp_path / "notes" / "n").exists()


def test_all_with_unknown_type_fails_naming_it_and_cleans_up(tmp_path: Path) -> None:
    report = rehearse(tmp_path, with_bucket=True)

    assert report["error"].startswith("aws:s3/bucket:Bucket logs: resource logs")
    assert "which the rehearsal cannot apply" in report["error"]
    assert report["checks"]["up"] == f"fail: {report['error']}"
    assert report["checks"]["destroy"] == "pass"
    assert not (tmp_path / "notes" / "n").exists()


def test_all_with_throttling_retries_and_counts_throttled_calls(
    tmp_path: Path,
) -> None:
    report = rehearse(tmp_path, faults="throttle=0.2")

    assert report["error"] is None
    assert report["throttled_calls"] > 0
    assert set(report["checks"].values()) == {"pass"}


def test_all_with_bad_fault_spec_fails_naming_it(tmp_path: Path) -> None:
    report = rehearse(tmp_path, faults="earthquake=1")

    assert report["error"].startswith("--faults 'earthquake=1': ")
    assert "allowed: throttle=<0..1>" in report["error"]


def test_all_on_a_shared_emulator_clears_faults_an_earlier_run_left(
    tmp_path: Path, shared_emulator: SharedEmulator
) -> None:
    shared_emulator.link.set_faults({"throttle": 1.0})

    report = rehearse(tmp_path, emulator=shared_emulator)

    assert report["error"] is None
    assert report["throttled_calls"] == 0


def test_attached_emulator_of_another_region_is_refused_naming_both(
    shared_emulator: SharedEmulator,
) -> None:
    with pytest.raises(EmulatorError) as raised:
        AttachedEmulator(shared_emulator.emulator.url, "us-west-2", "fast")

    message = str(raised.value)
    assert "serves Region us-east-1, but the stack's aws:region is us-west-2" in message
    assert "--region us-west-2" in message


def test_attached_emulator_reports_the_profile_it_really_runs(
    shared_emulator: SharedEmulator,
) -> None:
    attached = AttachedEmulator(shared_emulator.emulator.url, "us-east-1", "realistic")

    assert attached.profile == "fast"
