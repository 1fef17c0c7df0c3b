"""The dev stack rehearsed with AWS faults and known secrets, then scanned.

One run has 10% of calls throttled and 2% failing internally, with known
passwords and a supplied CA: it must pass every check, keep the key store
APIs under their quota, and leave no secret in anything it produced; 30
simulated days after its destroy, the cleanup command removes the key store
record. It also prints the stack's cost estimate before creating anything. A
second run fails half way (every SSM command fails) and is scanned the same way,
and a third is scanned while deployed, its state holding every output.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from providers.cleanup import main as cleanup_main
from tests.rehearsal.rehearsal_capture import (
    ADMIN_PASSWORD,
    KMSUSER_PASSWORD,
    CapturedRun,
    SharedEmulator,
    SuppliedCa,
    make_ca,
    occurrences,
    rehearse,
    write_config,
)

FAULTS = "throttle=0.1,internal=0.02"
# KMS counts these against the custom key store quota of 5 requests a second.
KEY_STORE_OPERATIONS = frozenset(
    {
        "CreateCustomKeyStore",
        "ConnectCustomKeyStore",
        "DeleteCustomKeyStore",
        "DescribeCustomKeyStores",
        "DisconnectCustomKeyStore",
        "UpdateCustomKeyStore",
    }
)
KEY_STORE_QUOTA_PER_SECOND = 5
DAY = 86400


@pytest.fixture(scope="module")
def ca() -> SuppliedCa:
    return make_ca()


@pytest.fixture(scope="module")
def faulty_run(
    tmp_path_factory: pytest.TempPathFactory,
    ca: SuppliedCa,
    shared_emulator: SharedEmulator,
) -> Iterator[CapturedRun]:
    workdir = tmp_path_factory.mktemp("faulty")
    config = write_config(workdir.parent / "faulty.yaml", ca)
    with pytest.MonkeyPatch.context() as monkeypatch:
        # The instance's CLI retries like any AWS CLI; at 12% faults per call,
        # six attempts keep a run from failing on bad luck alone.
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "6")
        yield rehearse(shared_emulator, config, workdir, FAULTS)


@pytest.fixture(scope="module")
def deployed_run(
    tmp_path_factory: pytest.TempPathFactory,
    ca: SuppliedCa,
    shared_emulator: SharedEmulator,
) -> Iterator[CapturedRun]:
    """The stack after `--step up`: its state holds every output until destroy."""
    workdir = tmp_path_factory.mktemp("deployed")
    config = write_config(workdir.parent / "deployed.yaml", ca)
    yield rehearse(shared_emulator, config, workdir, step="up")
    rehearse(shared_emulator, config, workdir, step="destroy")


@pytest.fixture(scope="module")
def failed_run(
    tmp_path_factory: pytest.TempPathFactory,
    ca: SuppliedCa,
    shared_emulator: SharedEmulator,
) -> CapturedRun:
    workdir = tmp_path_factory.mktemp("ssm-fail")
    config = write_config(workdir.parent / "ssm-fail.yaml", ca)
    return rehearse(shared_emulator, config, workdir, "ssm=fail")


def secrets_of(ca: SuppliedCa) -> list[str]:
    return [ADMIN_PASSWORD, KMSUSER_PASSWORD, ca.private_key_pem, *ca.key_fragments]


def test_all_with_throttling_and_internal_errors_passes_every_check(
    faulty_run: CapturedRun,
) -> None:
    report = faulty_run.report
    outcomes = {call["outcome"] for call in faulty_run.calls}

    assert report["error"] is None
    assert set(report["checks"].values()) == {"pass"}
    assert len(report["checks"]) == 10
    assert report["throttled_calls"] > 0
    assert {"throttled", "internal"} <= outcomes
    assert faulty_run.exit_code == 0


def test_all_with_faults_keeps_key_store_calls_under_quota(
    faulty_run: CapturedRun,
) -> None:
    times = sorted(
        float(call["at"])
        for call in faulty_run.calls
        if call["service"] == "kms" and call["operation"] in KEY_STORE_OPERATIONS
    )
    busiest = max(
        sum(1 for other in times if start <= other < start + 1) for start in times
    )

    assert len(times) >= 5
    assert busiest < KEY_STORE_QUOTA_PER_SECOND


def test_all_with_known_secrets_leaves_none_in_anything_produced(
    faulty_run: CapturedRun, ca: SuppliedCa
) -> None:
    texts = faulty_run.produced_texts()

    assert any("argv.log" in where for where in texts)
    assert faulty_run.ssm_history
    assert occurrences(texts, secrets_of(ca)) == []


def test_up_with_known_secrets_leaves_none_in_the_deployed_state(
    deployed_run: CapturedRun, ca: SuppliedCa
) -> None:
    texts = deployed_run.produced_texts()
    state_files = [where for where in texts if "/state/" in where]

    assert deployed_run.report["error"] is None
    assert any("cluster-customer-ca" in where for where in state_files)
    assert occurrences(texts, secrets_of(ca)) == []


def test_all_scan_finds_a_secret_where_one_is_planted(
    faulty_run: CapturedRun, ca: SuppliedCa
) -> None:
    # The scan itself must be able to fail: a key line in a log is found.
    texts = {"printed log": faulty_run.printed + ca.key_fragments[3]}

    assert occurrences(texts, secrets_of(ca)) == [
        f"printed log: {ca.key_fragments[3][:12]}..."
    ]


def test_all_reports_what_stays_with_simulated_dates(faulty_run: CapturedRun) -> None:
    remaining = faulty_run.report["destroy"]["remaining"]
    dates = [item["until"] for item in remaining if item["until"]]
    kinds = {item["type"] for item in remaining}

    assert {"aws:kms/key:Key", "aws:kms/customKeyStore:CustomKeyStore"} <= kinds
    assert dates and all(date.startswith("2026-01-") for date in dates)


def test_all_destroy_stops_every_hourly_charge(faulty_run: CapturedRun) -> None:
    deleted = {
        item["type"]
        for item in faulty_run.report["resources"]
        if item["step"] == "destroy" and item["operation"] == "delete"
    }

    assert {
        "aws:cloudhsmv2/hsm:Hsm",
        "aws:cloudhsmv2/cluster:Cluster",
        "aws:ec2/instance:Instance",
        "aws:ec2/natGateway:NatGateway",
    } <= deleted
    assert faulty_run.report["checks"]["no_hourly_charges_left"] == "pass"


def test_all_prints_the_cost_estimate_before_the_first_create(
    faulty_run: CapturedRun,
) -> None:
    lines = faulty_run.printed.splitlines()
    first_create = next(i for i, line in enumerate(lines) if line.endswith(" created"))
    estimate = [line for line in lines[:first_create] if "  : " in line]

    assert any("ESTIMATE: prices as of" in line for line in estimate)
    assert any("CloudHSM HSM hsm2m.medium" in line for line in estimate)
    assert any("Total (estimate, 730 h month)" in line for line in estimate)


def test_all_failing_ssm_reports_exit_code_and_output_tail(
    failed_run: CapturedRun,
) -> None:
    error = failed_run.report["error"]

    assert failed_run.exit_code == 1
    assert "SSM command" in error and "ended Failed with exit code" in error
    assert "Last output lines:" in error
    assert "aws ssm get-command-invocation --command-id" in error


def test_all_failing_half_way_leaves_no_secret_in_anything_produced(
    failed_run: CapturedRun, ca: SuppliedCa
) -> None:
    texts = failed_run.produced_texts()

    assert failed_run.report["error"]
    assert occurrences(texts, secrets_of(ca)) == []


def test_all_failing_half_way_destroys_what_it_created(
    failed_run: CapturedRun,
) -> None:
    checks = failed_run.report["checks"]

    assert checks["destroy"] == "pass"
    assert checks["no_hourly_charges_left"] == "pass"
    assert list((failed_run.workdir / "state").iterdir()) == []


def test_cleanup_after_destroy_waits_for_the_key_then_deletes_the_store(
    faulty_run: CapturedRun,
    shared_emulator: SharedEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = next(
        item
        for item in faulty_run.report["destroy"]["remaining"]
        if item["type"] == "aws:kms/customKeyStore:CustomKeyStore"
    )
    for name, value in shared_emulator.link.env().items():
        monkeypatch.setenv(name, value)
    shared_emulator.link.set_faults({})
    arguments = ["--custom-key-store-id", store["id"]]

    too_early = cleanup_main(arguments)
    waiting = capsys.readouterr().err
    shared_emulator.emulator.clock.advance(30 * DAY)
    on_time = cleanup_main(arguments)

    assert too_early == 1
    assert f"again after {store['delete_after'][:10]}" in waiting
    assert on_time == 0
    assert capsys.readouterr().out == f"Custom key store {store['id']} deleted.\n"
