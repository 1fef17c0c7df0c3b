"""Applies pulumi-aws resources and data sources to the emulator through boto3.

The adapter knows exactly the types in docs/architecture.md "Resource model"; any
other type fails naming it. Each type creates, reads and deletes the way the
pulumi-aws provider does (same API calls, same waits: cluster until UNINITIALIZED,
HSM until ACTIVE, NAT gateway until available, instance until running) and answers
with the attribute names pulumi-aws uses. Known gap: updates in place are not
applied; a changed input is reported by the rehearsal's second `up` instead.
"""

import contextlib
import contextvars
import dataclasses
import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from pulumi.runtime.rpc import unwrap_rpc_secret

from providers.errors import FipsKeystoreError
from providers.waiting import Clock, ProgressLog, WaitRecord, WaitRecorder, wait_for
from rehearsal.engine.errors import RehearsalError, UnsupportedResourceError

Outputs = dict[str, Any]

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10})
# The customTimeouts.create of the resource the current thread is creating.
_CREATE_TIMEOUT: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "create_timeout", default=None
)
EMULATOR_ADVICE = (
    "The emulator did not finish the operation: rerun with --faults unset, or "
    "look at the emulator log in the work directory."
)
CREATE_TIMEOUT_ADVICE = (
    "pulumi-aws stopped waiting at the resource's create timeout (customTimeouts; "
    "fips-keystore sets it from waitTimeoutMinutes). Look at the resource in the "
    "AWS console or CLI; if it is only slow, raise the timeout with `pulumi config "
    "set waitTimeoutMinutes <minutes>`, then run `pulumi up` again."
)


class PartialCreate(RehearsalError):
    """The resource exists but never became ready; its id belongs in the state.

    pulumi-aws records such a resource (with the error), so destroy deletes it.
    """

    def __init__(self, id_: str, outputs: Outputs, cause: Exception) -> None:
        super().__init__(str(cause))
        self.id = id_
        self.outputs = outputs


@dataclass(frozen=True)
class Deletion:
    """What is left after a delete: e.g. a key pending deletion until a date."""

    state: str = "deleted"
    until: str | None = None


class AwsContext:
    """boto3 clients bound to the emulator, and the waiting policy of the adapter."""

    def __init__(
        self,
        env: Mapping[str, str],
        clock: Clock,
        log: ProgressLog,
        stack: str = "",
    ) -> None:
        self.region = env.get("AWS_REGION") or env.get(
            "AWS_DEFAULT_REGION", "us-east-1"
        )
        self.stack = stack
        self._session = boto3.session.Session(
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "testing"),
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "testing"),
            region_name=self.region,
        )
        self._endpoint = env.get("AWS_ENDPOINT_URL")
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.clock = clock
        self.log = log

    def client(self, service: str) -> Any:
        """A client for `service`; boto3 clients may be shared between threads."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(
                    service, endpoint_url=self._endpoint, config=_CLIENT_CONFIG
                )
            return self._clients[service]

    def wait_created(
        self, id_: str, outputs: Outputs, describe: Callable[[], str], **wait: Any
    ) -> str:
        """`wait` on a resource just created; one never ready is a PartialCreate."""
        try:
            return self.wait(describe, **wait)
        except FipsKeystoreError as error:
            raise PartialCreate(id_, outputs, error) from error

    def create_timeout(self, default: float) -> float:
        """The create timeout of the resource being created, else `default`."""
        return _CREATE_TIMEOUT.get() or default

    def wait(
        self,
        describe: Callable[[], str],
        *,
        done: tuple[str, ...],
        failed: tuple[str, ...] = (),
        resource: str,
        expected_seconds: float = 0.0,
        poll_every: float | None = None,
        timeout_seconds: float = 3600,
        next_step: str = EMULATOR_ADVICE,
    ) -> str:
        """Poll a state on the simulated clock until it is one of `done`.

        With `poll_every` the state is polled at that fixed interval, as
        pulumi-aws does; otherwise with the project's policy around
        `expected_seconds`.
        """
        interval = {"min_interval": 1.0, "max_interval": 60.0}
        if poll_every is not None:
            expected_seconds = 0.0
            interval = {"min_interval": poll_every, "max_interval": poll_every}
        return wait_for(
            describe,
            is_done=lambda state: state in done,
            is_failed=lambda state: state in failed,
            resource=resource,
            expected_seconds=expected_seconds,
            timeout_seconds=timeout_seconds,
            clock=_PulumiAwsClock(self.clock),
            log=self.log,
            next_step=next_step,
            **interval,
        )


class _PulumiAwsClock:
    """The adapter's clock; the waits it records are pulumi-aws's, not the program's."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock.now()

    def sleep(self, seconds: float) -> None:
        self._clock.sleep(seconds)

    def record_wait(self, record: WaitRecord) -> None:
        if isinstance(self._clock, WaitRecorder):
            self._clock.record_wait(dataclasses.replace(record, waiter="pulumi-aws"))


@dataclass(frozen=True)
class ResourceKind:
    """How one pulumi-aws type is created, read (None: gone) and deleted."""

    create: Callable[[AwsContext, str, Outputs], tuple[str, Outputs]]
    read: Callable[[AwsContext, str, Outputs], Outputs | None]
    delete: Callable[[AwsContext, str, Outputs], Deletion]


def _registry() -> dict[str, ResourceKind]:
    from rehearsal.engine import aws_ec2, aws_hsm, aws_identity

    return {**aws_ec2.KINDS, **aws_hsm.KINDS, **aws_identity.KINDS}


def _invokes() -> dict[str, Callable[[AwsContext, Outputs], Outputs]]:
    from rehearsal.engine import aws_invokes

    return aws_invokes.INVOKES


class AwsAdapter:
    """Creates, reads and deletes pulumi-aws resources in the emulator."""

    def __init__(
        self,
        env: Mapping[str, str],
        clock: Clock,
        log: ProgressLog,
        stack: str = "",
    ) -> None:
        self.context = AwsContext(env, clock, log, stack)
        self._kinds = _registry()
        self._invokes = _invokes()

    @contextlib.contextmanager
    def create_deadline(self, seconds: float | None) -> Iterator[None]:
        """Creates in this thread wait at most `seconds` (customTimeouts.create)."""
        token = _CREATE_TIMEOUT.set(seconds)
        try:
            yield
        finally:
            _CREATE_TIMEOUT.reset(token)

    def require(self, type_: str, name: str) -> None:
        """Raise `UnsupportedResourceError` unless the rehearsal can apply `type_`."""
        self._kind(type_, name)

    def create(self, type_: str, name: str, inputs: Outputs) -> tuple[str, Outputs]:
        """Create the resource; return its id and outputs (inputs included)."""
        kind = self._kind(type_, name)
        id_, computed = kind.create(self.context, name, _plain(inputs))
        return id_, {**inputs, **computed, "id": id_}

    def read(self, type_: str, id_: str, outputs: Outputs) -> Outputs | None:
        """Describe the resource; None when it no longer exists."""
        found = self._kind(type_, id_).read(self.context, id_, _plain(outputs))
        return None if found is None else {**outputs, **found}

    def delete(self, type_: str, id_: str, outputs: Outputs) -> Deletion:
        """Delete the resource the way pulumi-aws does (keys: schedule deletion)."""
        return self._kind(type_, id_).delete(self.context, id_, _plain(outputs))

    def invoke(self, token: str, args: Outputs) -> Outputs:
        """Answer a data source from the emulator."""
        function = self._invokes.get(token)
        if function is None:
            raise UnsupportedResourceError(
                f"the program calls data source {token}, which the rehearsal cannot "
                f"answer; supported: {', '.join(sorted(self._invokes))}. Add it to "
                "rehearsal/engine/aws_invokes.py or avoid it in the program"
            )
        return function(self.context, _plain(args))

    def _kind(self, type_: str, subject: str) -> ResourceKind:
        kind = self._kinds.get(type_)
        if kind is None:
            raise UnsupportedResourceError(
                f"resource {subject} has type {type_}, which the rehearsal cannot "
                "apply to the emulator; supported types are those of "
                "docs/architecture.md 'Resource model'. Use one of them or extend "
                "rehearsal/engine/aws_adapter.py and the architecture notes"
            )
        return kind


def _plain(props: Mapping[str, Any]) -> Outputs:
    return {key: unwrap_rpc_secret(value) for key, value in props.items()}


def tags_of(inputs: Outputs) -> list[dict[str, str]]:
    """pulumi-aws `tags` as the EC2 and IAM style Key/Value list."""
    return [
        {"Key": key, "Value": str(value)}
        for key, value in (inputs.get("tags") or {}).items()
    ]


def auto_name(
    inputs: Outputs,
    logical_name: str,
    key: str = "name",
    stack: str = "",
    moment: float = 0.0,
) -> str:
    """The physical name: given, from a prefix, or made from the logical name.

    Pulumi adds a unique suffix; the rehearsal derives one from the stack, the
    logical name and the simulated `moment` of creation, so reruns in a fresh
    emulator make the same names, while two stacks, or a stack deployed again,
    in one emulator do not collide (a deleted secret keeps its name for 30 days).
    """
    if inputs.get(key):
        return str(inputs[key])
    prefix = inputs.get(f"{key}Prefix") or f"{logical_name}-"
    seed = f"{stack}::{logical_name}::{moment}"
    return f"{prefix}{hashlib.sha256(seed.encode()).hexdigest()[:7]}"
