"""Runs the rehearsal's steps: up, verify, refresh, up again, destroy, and checks.

`--step all` runs everything against an emulator inside this process. `--step up`
leaves a background emulator recorded in the work directory so that a later
`--step refresh` or `--step destroy` works on what it created; destroy stops it.
While a step runs, the process environment points boto3 at the emulator (the
providers' SSM helper used by the checks reads it).
"""

import contextlib
import dataclasses
import os
import shlex
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from providers.waiting import HttpClock
from rehearsal.emulator import PROFILES, FaultPlan, FaultSpecError
from rehearsal.engine import checks
from rehearsal.engine.aws_adapter import AwsAdapter
from rehearsal.engine.config import RehearsalConfig
from rehearsal.engine.console import Console
from rehearsal.engine.destroy import Destroyer, refuse_protected, remaining_with_dates
from rehearsal.engine.dynamic_client import DynamicProviderServer
from rehearsal.engine.emulator_link import (
    BackgroundEmulator,
    EmulatorLink,
    InProcessEmulator,
    RunningEmulator,
)
from rehearsal.engine.errors import (
    ProtectedResourceError,
    RehearsalError,
    StateError,
)
from rehearsal.engine.graph import DependencyGraph, profile_seconds
from rehearsal.engine.interruption import Interruption
from rehearsal.engine.pending import (
    pending_warning,
    plan_from_workdir,
    resolve_pending,
)
from rehearsal.engine.program import (
    Program,
    ResourceApplier,
    changed_keys,
    evaluate,
    main_program,
    resource_slot,
)
from rehearsal.engine.report import Report
from rehearsal.engine.state import ResourceRecord, Workdir

STEPS = ("up", "refresh", "recover", "destroy", "all")

Verify = Callable[["RunContext", Mapping[str, Any]], dict[str, Callable[[], None]]]


@dataclass
class RehearsalOptions:
    """What `python -m rehearsal` was asked to do."""

    project_dir: Path
    config: RehearsalConfig
    workdir: Path
    report_path: Path
    profile: str = "fast"
    faults: str = ""
    step: str = "all"
    # `--sequential`: one resource operation at a time (the benchmark's baseline).
    sequential: bool = False
    program: Program | None = None
    verify: Verify | None = None
    # `--interrupt-after NAME[,NAME...]`: the run dies right after creating one.
    interrupt_after: str | None = None
    # An emulator already running (several stacks in one emulated account, as
    # when one stack restores another's backup): used as is and left running.
    emulator: RunningEmulator | None = None


@dataclass
class RunContext:
    """The live pieces of one run, handed to steps and checks."""

    link: EmulatorLink
    adapter: AwsAdapter
    dynamic: DynamicProviderServer
    console: Console
    workdir: Workdir
    clock: HttpClock
    checks: dict[str, str] = field(default_factory=dict)


class Rehearsal:
    """One `python -m rehearsal` run; `run()` returns its report."""

    def __init__(self, options: RehearsalOptions) -> None:
        self.options = options
        self.workdir = Workdir(options.workdir)
        self.report = Report(options.config.stack, options.profile)
        self.program = options.program or main_program(options.project_dir)
        self.verify = options.verify or fips_keystore_checks(options.config)

    def run(self) -> Report:
        """Run the requested step(s); write the report even when something fails."""
        started = time.monotonic()
        try:
            with self._emulator() as emulator, self._context(emulator) as context:
                # A shared emulator may hold other stacks' calls already.
                earlier = len(emulator.link.calls()) if self.options.emulator else 0
                self._run_steps(context)
                self.report.set_calls(emulator.link.calls()[earlier:])
        except RehearsalError as error:
            self.report.error = self.report.error or str(error)
        finally:
            self.report.real_seconds = time.monotonic() - started
            self.report.write(self.options.report_path)
        return self.report

    def _run_steps(self, context: RunContext) -> None:
        context.link.one_at_a_time = self.options.sequential
        step = self.options.step
        if step in ("up", "all"):
            self._up(context, "up")
        if step == "all" and self.report.error is None:
            self._refresh(context)
            self._up(context, "up_again")
        if step == "refresh":
            self._refresh(context)
        if step == "recover":
            self._recover(context)
        if step in ("destroy", "all"):
            self._destroy(context)
        self.report.set_waits(context.link.waits())

    def _up(self, context: RunContext, label: str) -> None:
        prior = self.workdir.load_all()
        applier = ResourceApplier(
            context.adapter,
            context.dynamic,
            context.link,
            self.workdir,
            prior,
            context.console,
            Interruption.from_option(self.options.interrupt_after),
        )
        context.console.line(f"{label}: {len(prior)} resources in the state")
        warning = pending_warning(self.workdir)
        if warning:
            context.console.line(warning)
        start, calls_before = context.link.now(), len(context.link.calls())
        evaluation = evaluate(applier, self.options.config, self.program)
        seconds = context.link.now() - start
        self.report.add_resources(label, evaluation.records.values())

        self._record_critical_path()
        if evaluation.error is not None:
            context.checks[label] = f"fail: {evaluation.error}"
            self.report.error = self.report.error or evaluation.error
            return
        if label == "up" and not prior:
            self.report.simulated_deploy_seconds = seconds
            self.report.deploy_api_calls = len(context.link.calls()) - calls_before
        context.checks[label] = self._up_result(label, evaluation.records, prior)
        self.report.set_outputs(evaluation.outputs)
        if label == "up":
            context.checks.update(
                checks.run_checks(self.verify(context, evaluation.outputs))
            )

    def _up_result(
        self,
        label: str,
        records: Mapping[str, ResourceRecord],
        prior: Mapping[str, ResourceRecord],
    ) -> str:
        # Only the second up of `--step all` must change nothing; a lone `up`
        # on existing state may have an interrupted run to finish.
        if not prior or label != "up_again":
            return checks.PASS
        changed = [
            f"{r.name} {r.operation}"
            for r in records.values()
            if r.custom and r.operation not in ("same", "component", "read")
        ]
        dropped = [prior[urn].name for urn in prior if urn not in records]
        if changed or dropped:
            details = changed + [f"{name} would be deleted" for name in dropped]
            return f"fail: {label} was not a no-op: {', '.join(details)}"
        return checks.PASS

    def _record_critical_path(self) -> None:
        records = self.workdir.load_all()
        profile = _durations(self.report.profile)
        path = DependencyGraph(records).critical_path(
            profile_seconds(records.values(), profile)
        )
        self.report.critical_path_seconds = path.seconds
        self.report.critical_path = [
            records[urn].name
            for urn in path.urns
            if profile_seconds([records[urn]], profile)[urn]
        ]
        destroy_seconds = profile_seconds(records.values(), profile, "destroy")
        destroy_path = DependencyGraph(records).critical_path(destroy_seconds)
        self.report.destroy_critical_path_seconds = destroy_path.seconds
        self.report.destroy_critical_path = [
            records[urn].name
            for urn in reversed(destroy_path.urns)
            if destroy_seconds[urn]
        ]

    def _recover(self, context: RunContext) -> None:
        plan = plan_from_workdir(self.workdir, self._region())
        for urn, reason in plan.unresolved.items():
            context.console.line(f"unresolved {urn}: {reason}")
        if not plan.complete:
            context.checks["recover"] = "fail: pending creates need a person"
            first = next(iter(plan.unresolved.values()))
            self.report.error = self.report.error or first
            return
        command = shlex.join(plan.refresh_command(self.options.config.stack))
        context.console.line(f"recover: as `{command}` would")
        resolved = resolve_pending(context, plan.imports, clear=bool(plan.cleared))
        self.report.add_resources("recover", resolved)
        context.checks["recover"] = checks.PASS

    def _refresh(self, context: RunContext) -> None:
        records = self.workdir.load_all()
        context.console.line(f"refresh: {len(records)} resources in the state")
        drift = []
        for urn in DependencyGraph(records).creation_order():
            record = records[urn]
            if record.custom:
                drift += [
                    f"{record.name}: {d}" for d in self._refresh_one(context, record)
                ]

        touched = [r for r in records.values() if r.operation in ("drift", "refreshed")]
        self.report.add_resources("refresh", touched)
        context.checks["refresh"] = (
            f"fail: drift in {'; '.join(drift)}" if drift else checks.PASS
        )

    def _refresh_one(self, context: RunContext, record: ResourceRecord) -> list[str]:
        """Read one resource; return its drift (gone, or inputs no longer true).

        Outputs that are not inputs (a state the provider reports) may change
        without drift: they are stored, as `pulumi refresh` would.
        """
        with resource_slot(context.dynamic, record), context.link.participant():
            record.start = context.link.now()
            drift, changed_outputs = self._read_back(context, record)
            record.end = context.link.now()

        record.operation = "drift" if drift else "refreshed" if changed_outputs else ""
        if record.id:
            self.workdir.save(record)
        else:
            # Like `pulumi refresh`: a resource gone from the cloud leaves the
            # state, and the next up creates it again.
            self.workdir.remove(record.urn)
        context.console.changed(record)
        return drift

    def _read_back(
        self, context: RunContext, record: ResourceRecord
    ) -> tuple[list[str], list[str]]:
        if not record.is_dynamic:
            found = context.adapter.read(record.type, record.id, record.outputs)
            if found is None:
                record.id = ""
                return ["gone from the emulator; dropped from the state"], []
            return [], []

        read = context.dynamic.read(
            record.urn,
            record.id,
            record.outputs,
            record.inputs,
            record.additional_secret_outputs,
        )
        changed = changed_keys(record.outputs, read.outputs)
        inputs_now = read.inputs if read.inputs is not None else read.outputs
        drift = [
            f"{key} changed"
            for key in changed_keys(record.inputs, inputs_now)
            if key in record.inputs and (read.inputs is not None or key in changed)
        ]
        if not read.id:
            drift.append("gone (read returned no id); dropped from the state")
        elif self._provider_sees_difference(context, record, read.outputs):
            drift.append("the provider reports a difference the next up applies")
        record.id, record.outputs = read.id, read.outputs
        return drift, changed

    def _provider_sees_difference(
        self, context: RunContext, record: ResourceRecord, outputs: dict[str, Any]
    ) -> bool:
        """What the next up's diff will say, as `pulumi preview` shows after refresh."""
        diff = context.dynamic.diff(
            record.urn, record.id, outputs, record.inputs, record.inputs
        )
        return bool(diff.changes or diff.replaces)

    def _destroy(self, context: RunContext) -> None:
        records = self.workdir.load_all()
        try:
            refuse_protected(records)
        except ProtectedResourceError as error:
            context.checks["destroy"] = f"fail: {error}"
            raise
        context.console.line(f"destroy: {len(records)} resources in the state")
        if self.report.critical_path_seconds is None:
            self._record_critical_path()
        start = context.link.now()

        destroyer = Destroyer(context, self.workdir, records)
        errors = destroyer.run()
        self.report.simulated_destroy_seconds = context.link.now() - start
        self.report.add_resources("destroy", destroyer.done)
        self.report.remaining = remaining_with_dates(destroyer.left)
        self.report.destroyed = True
        context.checks["destroy"] = (
            f"fail: {'; '.join(errors)}" if errors else checks.PASS
        )
        context.checks.update(
            checks.run_checks(
                checks.hourly_charges_check(context.adapter.context, records.values())
            )
        )
        if errors:
            self.report.error = self.report.error or errors[0]

    @contextlib.contextmanager
    def _emulator(self) -> Iterator[RunningEmulator]:
        step, workdir = self.options.step, self.options.workdir
        shared = self.options.emulator
        if shared is not None and step == "all":
            _clear_state(self.workdir)
        emulator = shared or self._start_or_attach(step, workdir)
        try:
            # Every run sets its own faults, none included: an emulator shared
            # with earlier runs must not keep theirs.
            emulator.link.set_faults(_fault_body(self.options.faults))
            yield emulator
        finally:
            if shared is None and step in ("all", "destroy"):
                emulator.stop()
            elif isinstance(emulator, BackgroundEmulator):
                self.report.emulator_running = (
                    f"{emulator.link.url} (pid {emulator.pid}), kept for the next "
                    f"--step with --workdir {workdir}; `--step destroy` stops it"
                )

    def _start_or_attach(self, step: str, workdir: Path) -> RunningEmulator:
        recorded = self.workdir.emulator_path.is_file()
        if step == "all":
            if recorded:
                raise StateError(
                    f"{workdir} has a background emulator from `--step up`; finish "
                    "with `--step destroy` first, or use another --workdir"
                )
            _clear_state(self.workdir)
            return InProcessEmulator(self.options.profile, workdir, self._region())
        if step == "up" and not recorded:
            if self.workdir.load_all():
                raise StateError(
                    f"{workdir} holds state but no emulator: what it describes is "
                    f"gone. Delete {workdir} and run the rehearsal again"
                )
            return BackgroundEmulator.start(
                self.options.profile, workdir, self.options.project_dir, self._region()
            )
        return BackgroundEmulator.attach(workdir)

    def _region(self) -> str:
        return self.options.config.get("aws:region") or "us-east-1"

    @contextlib.contextmanager
    def _context(self, emulator: RunningEmulator) -> Iterator[RunContext]:
        link, profile = emulator.link, emulator.profile
        self.report.profile = profile
        env = link.env()
        clock = HttpClock(env["FIPS_KEYSTORE_CLOCK_URL"])
        console = Console(link)
        dynamic = DynamicProviderServer(
            env, self.options.project_dir, console.provider_log
        )
        with _environment(env):
            dynamic.start()
            try:
                dynamic.configure(self.options.config.values)
                adapter = AwsAdapter(
                    env, clock, _ConsoleLog(console), stack=self.options.config.stack
                )
                yield RunContext(
                    link,
                    adapter,
                    dynamic,
                    console,
                    self.workdir,
                    clock,
                    self.report.checks,
                )
            finally:
                dynamic.stop()


def fips_keystore_checks(config: RehearsalConfig) -> Verify:
    """The checks of the fips-keystore stack after up (see rehearsal.engine.checks)."""

    def verify(
        context: RunContext, outputs: Mapping[str, Any]
    ) -> dict[str, Callable[[], None]]:
        from components.stack import OUTPUT_NAMES

        hsm_count = int(config.get("hsmCount") or 2)
        key_store = (config.get("createKeyStore") or "true").lower() != "false"
        return checks.deployment_checks(
            context.adapter.context,
            outputs,
            OUTPUT_NAMES,
            hsm_count,
            "kmsuser",
            context.clock,
            key_store=key_store,
        )

    return verify


class _ConsoleLog:
    """`pulumi.log`-shaped sink for the adapter's waits: progress to the console."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def info(self, msg: str) -> None:
        self.console.line(f"  . {msg}")


def _durations(profile: str) -> dict[str, float]:
    durations = dataclasses.asdict(PROFILES[profile])
    return {key: float(value) for key, value in durations.items() if key != "name"}


def _fault_body(spec: str) -> dict[str, Any]:
    try:
        plan = FaultPlan.from_spec(spec)
    except FaultSpecError as error:
        raise RehearsalError(f"--faults {spec!r}: {error}") from error
    return plan.to_dict()


def _clear_state(workdir: Workdir) -> None:
    # `--step all` starts a fresh emulator: state from an earlier run describes
    # resources that no longer exist anywhere.
    shutil.rmtree(workdir.state_dir, ignore_errors=True)
    workdir.state_dir.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
