"""Evaluates the Pulumi program under the SDK's mocks and applies every resource.

The mock monitor's RegisterResource is where the engine steps in: it records what
the SDK sent (parent, dependencies, protect, retain_on_delete, secret outputs),
then creates the resource in the emulator (pulumi-aws types through the adapter,
dynamic resources through `python -m pulumi.dynamic`), or, when the state already
has it, diffs it and reports `same` or applies a dynamic update. ReadResource (a
resource's `get()`) reads an existing pulumi-aws resource through the adapter and
keeps it in the state as external, so destroy leaves it alone. The SDK registers
a resource only once its inputs and dependencies resolved, and calls the monitor
from its executor, so independent resources are created concurrently.
"""

import asyncio
import contextlib
import contextvars
import logging
import re
import runpy
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol

import pulumi
from botocore.exceptions import ClientError
from pulumi.runtime import mocks, rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import SETTINGS, get_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from rehearsal.engine.aws_adapter import AwsAdapter, PartialCreate
from rehearsal.engine.config import PROJECT, RehearsalConfig, apply_config
from rehearsal.engine.dynamic_client import (
    PROVIDER_KEY,
    DynamicProviderServer,
    provider_module,
)
from rehearsal.engine.emulator_link import EmulatorLink
from rehearsal.engine.errors import RehearsalError, UnsupportedResourceError
from rehearsal.engine.interruption import Interruption, RunInterrupted
from rehearsal.engine.state import ResourceRecord, Workdir
from stack_config import ConfigError

DYNAMIC_TYPE_PREFIX = "pulumi-python:dynamic"
# Go durations, as Pulumi writes customTimeouts.
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
# The SDK calls the monitor from the event loop's default executor; every resource
# that waits on AWS holds a thread, so the pool must outnumber the stack's fan-out.
EXECUTOR_WORKERS = 64

Program = Callable[[], Mapping[str, Any] | None]


class ResourceEvents(Protocol):
    """Receives one call per resource state change (for the console)."""

    def changed(self, record: ResourceRecord) -> None: ...


@dataclass
class Evaluation:
    """One run of the program: its outputs, its resources, and the first error."""

    outputs: dict[str, Any]
    records: dict[str, ResourceRecord]
    error: str | None


class ResourceApplier:
    """Creates a registered resource, or diffs it against the prior state."""

    def __init__(
        self,
        adapter: AwsAdapter,
        dynamic: DynamicProviderServer,
        link: EmulatorLink,
        workdir: Workdir,
        prior: Mapping[str, ResourceRecord],
        events: ResourceEvents,
        interruption: Interruption | None = None,
    ) -> None:
        self.adapter = adapter
        self.dynamic = dynamic
        self.link = link
        self.workdir = workdir
        self.prior = dict(prior)
        self.events = events
        self.interruption = interruption or Interruption()
        self.registered: dict[str, ResourceRecord] = {}
        self.errors: list[str] = []

    def apply(self, record: ResourceRecord, inputs: dict[str, Any]) -> ResourceRecord:
        """Bring the resource to its registered inputs; record and announce it."""
        self.registered[record.urn] = record
        if not record.custom:
            record.operation = "component"
            self.workdir.save(record)
            return record
        try:
            self._apply_custom(record, inputs)
        except Exception as error:
            self.errors.append(f"{record.type} {record.name}: {error}")
            interrupted = isinstance(error, RunInterrupted)
            record.operation = "interrupted" if interrupted else "failed"
            self.events.changed(record)
            raise
        self.workdir.save(record)
        self.workdir.end_pending(record.urn)
        self.events.changed(record)
        return record

    def read(self, record: ResourceRecord) -> ResourceRecord:
        """Read an existing resource by id (`get()`); record it as external."""
        self.registered[record.urn] = record
        try:
            self._require_supported(record)
            with self.link.participant():
                record.start = self.link.now()
                found = self.adapter.read(record.type, record.id, {})
                record.end = self.link.now()
        except Exception as error:
            self.errors.append(f"{record.type} {record.name}: {error}")
            record.operation = "failed"
            self.events.changed(record)
            raise
        if found is None:
            self._missing(record)
        record.outputs, record.operation = {**found, "id": record.id}, "read"
        self.workdir.save(record)
        self.events.changed(record)
        return record

    def _missing(self, record: ResourceRecord) -> NoReturn:
        message = (
            f"the program reads {record.type} {record.name} with id {record.id} "
            "(get()), but it does not exist in the emulator. Check the id in the "
            "stack config, or create the resource first"
        )
        self.errors.append(message)
        record.operation = "failed"
        self.events.changed(record)
        raise UnsupportedResourceError(message)

    def _apply_custom(self, record: ResourceRecord, inputs: dict[str, Any]) -> None:
        if record.is_dynamic:
            record.provider_module = provider_module(inputs.get(PROVIDER_KEY))
        else:
            self._require_supported(record)
        prior = self.prior.get(record.urn)

        deadline = self.adapter.create_deadline(record.create_timeout_seconds)
        with resource_slot(self.dynamic, record), self.link.participant(), deadline:
            record.start = self.link.now()
            if prior is None:
                self._create(record, inputs)
            else:
                self._compare(record, inputs, prior)
            record.end = self.link.now()

    def _require_supported(self, record: ResourceRecord) -> None:
        self.adapter.require(record.type, record.name)

    def _create(self, record: ResourceRecord, inputs: dict[str, Any]) -> None:
        self.interruption.refuse_after_firing(record)
        record.inputs = (
            self.dynamic.check(record.urn, {}, inputs) if record.is_dynamic else inputs
        )
        # As Pulumi does: a create that never reports back stays pending.
        self.workdir.begin_create(record)
        try:
            record.id, record.outputs = self._call_create(record)
        except PartialCreate as partial:
            # Created but never ready: like pulumi-aws, keep it in the state
            # with its id, so destroy deletes it.
            record.id = partial.id
            record.outputs = {**record.inputs, **partial.outputs, "id": partial.id}
            self.workdir.save(record)
            self.workdir.end_pending(record.urn)
            raise
        except Exception:
            # The provider answered with an error: the engine lives on and
            # knows nothing was recorded, so the pending create is closed.
            self.workdir.end_pending(record.urn)
            raise
        record.operation = "create"
        self.interruption.after_create(record)

    def _call_create(self, record: ResourceRecord) -> tuple[str, dict[str, Any]]:
        if record.is_dynamic:
            return self.dynamic.create(
                record.urn, record.inputs, record.additional_secret_outputs
            )
        return self.adapter.create(record.type, record.name, record.inputs)

    def _compare(
        self, record: ResourceRecord, inputs: dict[str, Any], prior: ResourceRecord
    ) -> None:
        record.id = prior.id
        if record.is_dynamic:
            self._compare_dynamic(record, inputs, prior)
            return
        changed = changed_keys(prior.inputs, inputs)
        if changed:
            raise UnsupportedResourceError(
                f"{record.type} {record.name} ({prior.id}) would be updated: inputs "
                f"{', '.join(changed)} changed since the last up. The rehearsal does "
                "not update pulumi-aws resources in place; destroy and rehearse again"
            )
        record.inputs, record.outputs, record.operation = (
            prior.inputs,
            prior.outputs,
            "same",
        )

    def _compare_dynamic(
        self, record: ResourceRecord, inputs: dict[str, Any], prior: ResourceRecord
    ) -> None:
        checked = self.dynamic.check(record.urn, prior.inputs, inputs)
        diff = self.dynamic.diff(
            record.urn, prior.id, prior.outputs, checked, prior.inputs
        )
        changes = diff.changes
        if changes is None:
            changes = bool(changed_keys(prior.inputs, checked))

        if diff.replaces:
            raise UnsupportedResourceError(
                f"{record.name} ({prior.id}) would be replaced because "
                f"{', '.join(diff.replaces)} changed. The rehearsal does not replace "
                "resources; destroy and rehearse again"
            )
        record.inputs = checked
        if not changes:
            record.outputs, record.operation = prior.outputs, "same"
            return
        record.outputs = self.dynamic.update(
            record.urn,
            prior.id,
            prior.outputs,
            checked,
            prior.inputs,
            record.additional_secret_outputs,
        )
        record.operation = "update"


class RehearsalMocks(mocks.Mocks):
    """Data sources answered by the adapter; resources go through the monitor."""

    def __init__(self, adapter: AwsAdapter) -> None:
        self.adapter = adapter

    def call(self, args: mocks.MockCallArgs) -> tuple[dict, list | None]:
        """Answer a data source; AWS refusing it fails the invoke, as the engine
        does: the SDK raises `invoke of ... failed` where the program called it."""
        try:
            return self.adapter.invoke(args.token, dict(args.args)), []
        except ClientError as error:
            return {}, [("", f"invocation of {args.token} returned an error: {error}")]

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict]:
        raise UnsupportedResourceError(
            f"resource {args.typ} {args.name} reached the SDK's default mock "
            "monitor; the rehearsal monitor registers and reads every resource. "
            "Run the program through rehearsal.engine.program.evaluate"
        )


class RehearsalMonitor(mocks.MockMonitor):
    """The SDK's mock monitor, with registration handed to a `ResourceApplier`."""

    def __init__(
        self, rehearsal_mocks: RehearsalMocks, applier: ResourceApplier
    ) -> None:
        super().__init__(rehearsal_mocks)
        self.applier = applier

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)

        # The SDK deserializes resource references with the thread's event loop.
        _ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object)
        record = self.applier.apply(_record_of(urn, request), inputs)

        state = _sync_await(rpc.serialize_properties(record.outputs, {}))
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(
            urn, record.id, record.outputs
        )
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id=record.id, object=state
        )

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        urn = self.make_urn(request.parent, request.type, request.name)
        _ensure_event_loop()
        record = _record_of(urn, request)
        record.id, record.external = request.id, True
        record = self.applier.read(record)

        state = _sync_await(rpc.serialize_properties(record.outputs, {}))
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(
            urn, record.id, record.outputs
        )
        return resource_pb2.ReadResourceResponse(urn=urn, properties=state)


def resource_slot(dynamic: DynamicProviderServer, record: ResourceRecord) -> Any:
    """A dynamic provider server thread for dynamic resources; nothing for others."""
    return dynamic.slot() if record.is_dynamic else contextlib.nullcontext()


def evaluate(
    applier: ResourceApplier,
    config: RehearsalConfig,
    program: Program,
) -> Evaluation:
    """Run the program once, in a fresh SDK context, and wait for every resource."""
    context = contextvars.Context()
    return context.run(_evaluate, applier, config, program)


def main_program(project_dir: Path) -> Program:
    """The project's `__main__.py`, run the way `pulumi up` runs it."""

    def run() -> None:
        if str(project_dir) not in sys.path:
            sys.path.insert(0, str(project_dir))
        runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")

    return run


def _evaluate(
    applier: ResourceApplier, config: RehearsalConfig, program: Program
) -> Evaluation:
    loop = asyncio.new_event_loop()
    executor = ThreadPoolExecutor(max_workers=EXECUTOR_WORKERS)
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    _install_mocks(applier, config)

    exported: dict[str, Any] = {}
    try:
        loop.run_until_complete(
            run_pulumi_func(lambda: _run_and_resolve(program, exported))
        )
    except Exception as error:  # the program's own failures end up here
        message = _first_error(applier, error)
        if isinstance(error, ConfigError):
            message += (
                f"\nIn a rehearsal, set the keys (as fips-keystore:<key>) in "
                f"{config.source} instead of running `pulumi config set`."
            )
        return Evaluation({}, applier.registered, message)
    finally:
        # After a failure, resources already being created still finish and reach
        # the state, so that destroy sees them.
        executor.shutdown(wait=True)
        loop.close()
    return Evaluation(exported, applier.registered, None)


def _install_mocks(applier: ResourceApplier, config: RehearsalConfig) -> None:
    monitor = RehearsalMonitor(RehearsalMocks(applier.adapter), applier)
    mocks.set_mocks(
        monitor.mocks,
        project=PROJECT,
        stack=config.stack,
        preview=False,
        monitor=monitor,
        logger=_program_logger(applier.events),
    )
    apply_config(config)
    # Like pulumi.runtime.test: output tasks left by an earlier, failed evaluation
    # belong to a closed event loop and must not be awaited by this one.
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()


def _program_logger(events: ResourceEvents) -> logging.Logger:
    """The program's `pulumi.log` lines (the cost estimate), shown as the CLI would."""
    logger = logging.getLogger("rehearsal.program")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.handlers.clear()
    show = getattr(events, "program_log", None)
    if show is not None:
        logger.addHandler(_ProgramLogHandler(show))
    return logger


class _ProgramLogHandler(logging.Handler):
    def __init__(self, show: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self.show = show

    def emit(self, record: logging.LogRecord) -> None:
        for text in record.getMessage().splitlines():
            self.show(text)


def _run_and_resolve(program: Program, exported: dict[str, Any]) -> None:
    returned = program()
    root = get_root_resource()
    outputs = (
        dict(returned) if returned is not None else dict(getattr(root, "outputs", {}))
    )
    exported.update(_sync_await(_resolve_outputs(outputs)))


async def _resolve_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    resolved = {}
    for key, value in outputs.items():
        output = pulumi.Output.from_input(value)
        plain = await output.future()
        secret = await output.is_secret()
        resolved[key] = rpc.wrap_rpc_secret(plain) if secret else plain
    return resolved


def _first_error(applier: ResourceApplier, error: Exception) -> str:
    if applier.errors:
        return applier.errors[0]
    if isinstance(error, RehearsalError):
        return str(error)
    return f"the program failed: {type(error).__name__}: {error}"


def _record_of(urn: str, request: Any) -> ResourceRecord:
    """A record of a RegisterResourceRequest or a ReadResourceRequest (custom)."""
    return ResourceRecord(
        urn=urn,
        type=request.type,
        name=request.name,
        parent=request.parent,
        custom=bool(getattr(request, "custom", True)),
        dependencies=sorted(set(request.dependencies)),
        protect=_optional_flag(request, "protect"),
        retain_on_delete=_optional_flag(request, "retainOnDelete"),
        additional_secret_outputs=list(request.additionalSecretOutputs),
        create_timeout_seconds=_create_timeout(request),
    )


def _create_timeout(request: Any) -> float | None:
    """customTimeouts.create ("10m", "1h30m", "90s") in seconds, if set."""
    fields = {field.name for field in request.DESCRIPTOR.fields}
    text = request.customTimeouts.create if "customTimeouts" in fields else ""
    parts = _DURATION_PART.findall(text or "")
    if not parts:
        return None
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)


def _optional_flag(request: Any, name: str) -> bool:
    fields = {field.name for field in request.DESCRIPTOR.fields}
    return name in fields and request.HasField(name) and bool(getattr(request, name))


def changed_keys(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """Keys whose values differ, secrets compared by value."""
    # The pickled provider is compared by the provider's own diff, not here: its
    # bytes may differ between two evaluations of the same code.
    keys = (set(olds) | set(news)) - {PROVIDER_KEY}
    plain = rpc.unwrap_rpc_secret
    return sorted(key for key in keys if plain(olds.get(key)) != plain(news.get(key)))
