"""One dev stack deployment, interrupted at every step of the chain, then drifted.

The scenario runs once per session, as a user would run the commands: `up`
dies right after a step's AWS side effect (`--interrupt-after`), `--step
recover` (for pulumi-aws resources) or nothing (dynamic ones adopt), then the
next `up`, which dies at the next step; after the last step a clean `up`, an
`up` that must change nothing, the drift cases, and destroy. Each stage keeps
what the tests need: the error, the pending creates, the emulator's call
counts and what the next `up` did.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from rehearsal.emulator import Emulator
from rehearsal.engine.cli import PROJECT_DIR
from rehearsal.engine.config import load_stack_config
from rehearsal.engine.emulator_link import MANAGED_POLICIES_VARIABLE, EmulatorLink
from rehearsal.engine.report import Report
from rehearsal.engine.runner import Rehearsal, RehearsalOptions
from rehearsal.engine.state import Workdir

# Every step of the chain. Each `up` of the scenario is told to die after any
# of those not yet recorded, so whichever come first (side by side, such as the
# first HSM and the CSR signing) are caught in one stage, whatever the order.
CHAIN = (
    "cluster-cluster",
    "cluster-hsm-0",
    "cluster-csr-signing",
    "cluster-initialization",
    "cluster-activation",
    "cluster-kmsuser",
    "cluster-hsm-1",
    "key-store-store",
    "key-store-connection",
    "key-store-key",
)


@dataclass
class Stage:
    """One interrupted `up` (one or more steps caught) and what followed it."""

    names: list[str]
    error: str | None
    pending: list[str]
    recorded: list[str]
    calls: Counter[str]
    up: Report | None = None
    recover: Report | None = None
    next_up: Report | None = None


@dataclass
class Scenario:
    """Everything the reliability tests look at."""

    emulator: Emulator
    workdir: Workdir
    stages: dict[str, Stage] = field(default_factory=dict)
    final_up: Report | None = None
    calls_after_up: Counter[str] = field(default_factory=Counter)
    noop_up: Report | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    drift: dict[str, Any] = field(default_factory=dict)
    destroy: Report | None = None


class SharedEmulator:
    """The scenario's emulator, used by every run and stopped by the fixture."""

    def __init__(self, emulator: Emulator) -> None:
        self.link = EmulatorLink(emulator.url, emulator.region)
        self.profile = emulator.profile.name

    def stop(self) -> None:
        """Runs never stop it: the fixture does."""


class Runs:
    """Runs `python -m rehearsal` steps one after another on one emulator."""

    def __init__(self, emulator: Emulator, workdir: Path) -> None:
        self.emulator = SharedEmulator(emulator)
        self.workdir = workdir
        self.config = load_stack_config(PROJECT_DIR, "dev")

    def step(
        self, step: str, interrupt_after: str | None = None, verify: bool = True
    ) -> Report:
        options = RehearsalOptions(
            project_dir=PROJECT_DIR,
            config=self.config,
            workdir=self.workdir,
            report_path=self.workdir / f"report-{step}.json",
            step=step,
            emulator=self.emulator,
            interrupt_after=interrupt_after,
            verify=None if verify else _no_checks,
        )
        return Rehearsal(options).run()


def _no_checks(*_: Any) -> dict[str, Any]:
    """For an `up` whose result the tests read from its operations alone."""
    return {}


def operation_counts(emulator: Emulator) -> Counter[str]:
    """Successful AWS calls so far, by operation."""
    return Counter(
        call.operation for call in emulator.calls.all() if call.outcome == "ok"
    )


def operation_of(report: Report, name: str) -> str:
    found = [r["operation"] for r in report.resources if r["name"] == name]
    return found[-1] if found else ""


def aws(emulator: Emulator, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=emulator.url,
        region_name=emulator.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def live_clusters(emulator: Emulator) -> list[dict[str, Any]]:
    clusters = aws(emulator, "cloudhsmv2").describe_clusters()["Clusters"]
    return [c for c in clusters if c["State"] not in ("DELETED", "DELETE_IN_PROGRESS")]


def live_hsms(emulator: Emulator) -> list[dict[str, Any]]:
    return [
        hsm
        for cluster in live_clusters(emulator)
        for hsm in cluster.get("Hsms", [])
        if hsm["State"] != "DELETED"
    ]


def crypto_users(emulator: Emulator) -> list[dict[str, Any]]:
    users = []
    for cluster in live_clusters(emulator):
        simulator = emulator.models.cloudhsm.hsm_simulator(cluster["ClusterId"])
        users += [u for u in simulator.list_users() if u["username"] == "kmsuser"]
    return users


def store_keys(emulator: Emulator) -> list[dict[str, Any]]:
    kms = aws(emulator, "kms")
    keys = [kms.describe_key(KeyId=k["KeyId"]) for k in kms.list_keys()["Keys"]]
    return [
        k["KeyMetadata"]
        for k in keys
        if k["KeyMetadata"].get("CustomKeyStoreId")
        and k["KeyMetadata"]["KeyState"] != "PendingDeletion"
    ]


def key_stores(emulator: Emulator) -> list[dict[str, Any]]:
    return aws(emulator, "kms").describe_custom_key_stores()["CustomKeyStores"]


def deployment_facts(emulator: Emulator) -> dict[str, Any]:
    return {
        "clusters": live_clusters(emulator),
        "hsms": live_hsms(emulator),
        "kmsusers": crypto_users(emulator),
        "key_stores": key_stores(emulator),
        "keys": store_keys(emulator),
    }


def _interrupted_chain(runs: Runs, scenario: Scenario) -> None:
    remaining = list(CHAIN)
    stages: list[Stage] = []
    while remaining:
        stage = _interrupted_up(runs, scenario, remaining)
        if stages:
            stages[-1].next_up = stage.up
        stages.append(stage)
        remaining = [name for name in remaining if name not in stage.names]

    scenario.final_up = runs.step("up")
    stages[-1].next_up = scenario.final_up
    scenario.calls_after_up = operation_counts(scenario.emulator)
    scenario.noop_up = runs.step("up", verify=False)
    scenario.facts = deployment_facts(scenario.emulator)


def _interrupted_up(runs: Runs, scenario: Scenario, targets: list[str]) -> Stage:
    up = runs.step("up", interrupt_after=",".join(targets))
    pending = scenario.workdir.load_pending().values()
    names = sorted(r.name for r in pending if r.name in targets)
    if "interrupted after creating" not in (up.error or "") or not names:
        pytest.fail(f"up to interrupt after one of {targets} did not: {up.error}")
    stage = Stage(
        names,
        up.error,
        sorted(r.name for r in pending),
        sorted(r.name for r in scenario.workdir.load_all().values()),
        operation_counts(scenario.emulator),
        up=up,
    )
    for name in names:
        scenario.stages[name] = stage
    if any(not r.is_dynamic for r in pending):
        stage.recover = runs.step("recover")
    return stage


def _drift(runs: Runs, scenario: Scenario) -> None:
    emulator, drift = scenario.emulator, scenario.drift
    store_id = scenario.facts["key_stores"][0]["CustomKeyStoreId"]
    kms = aws(emulator, "kms")
    kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    emulator.clock.advance(600)
    drift["disconnected_refresh"] = runs.step("refresh")
    drift["disconnected_state"] = _connection_state(scenario.workdir)
    drift["reconnect_up"] = runs.step("up")
    drift["store_after_up"] = key_stores(emulator)[0]["ConnectionState"]

    hsm = next(h for h in scenario.facts["hsms"] if h["SubnetId"] == _subnet(1, runs))
    aws(emulator, "cloudhsmv2").delete_hsm(
        ClusterId=hsm["ClusterId"], HsmId=hsm["HsmId"]
    )
    emulator.clock.advance(3600)
    drift["deleted_hsm"] = hsm["HsmId"]
    drift["hsm_refresh"] = runs.step("refresh")
    drift["hsm_in_state_after_refresh"] = _hsm_ids(scenario.workdir)
    drift["replace_up"] = runs.step("up")
    drift["facts"] = deployment_facts(emulator)
    drift["coverage"], drift["coverage_ips"] = _coverage(scenario.workdir)


def _connection_state(workdir: Workdir) -> str:
    record = next(
        r for r in workdir.load_all().values() if r.name.endswith("-connection")
    )
    return str(record.outputs.get("connection_state"))


def _hsm_ids(workdir: Workdir) -> list[str]:
    return sorted(r.id for r in workdir.load_all().values() if r.type.endswith(":Hsm"))


def _coverage(workdir: Workdir) -> tuple[dict[str, str], list[str]]:
    record = next(r for r in workdir.load_all().values() if r.name.endswith("coverage"))
    return dict(record.outputs["coverage"]), sorted(record.outputs["hsm_ips"])


def _subnet(index: int, runs: Runs) -> str:
    records = Workdir(runs.workdir).load_all().values()
    return next(r.id for r in records if r.name == f"network-private-{index}")


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """The whole interrupted-then-drifted deployment, run once, then destroyed."""
    root = tmp_path_factory.mktemp("reliability")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MANAGED_POLICIES_VARIABLE, "true")
        emulator = Emulator("fast", root / "emulator")
        emulator.workdir.mkdir(parents=True, exist_ok=True)
        emulator.start()
        for name, value in emulator.env().items():
            patch.setenv(name, value)
        try:
            runs = Runs(emulator, root / "work")
            result = Scenario(emulator, Workdir(root / "work"))
            _interrupted_chain(runs, result)
            _drift(runs, result)
            result.destroy = runs.step("destroy")
            yield result
        finally:
            emulator.stop()
