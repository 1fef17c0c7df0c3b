"""The one polling loop of the project, and the clock it waits on.

`wait_for` polls a describe function until a state is done, failed or the
deadline passes. It polls at most every `max_interval` while the operation
cannot be finished yet, tightly around the expected completion, then backs off
by 1.5x. Against
the emulator the clock is the emulator's simulated clock (`HttpClock`, picked
by `clock_from_environment` when FIPS_KEYSTORE_CLOCK_URL is set), so a wait of
twenty simulated minutes takes milliseconds; each finished wait is reported to
it (`WaitRecord`), so a rehearsal can tell how much time polling added.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

import pulumi

from providers.errors import (
    FipsKeystoreError,
    ResourceFailed,
    WaitTimeout,
    format_duration,
)

CLOCK_URL_VARIABLE = "FIPS_KEYSTORE_CLOCK_URL"
PROGRESS_EVERY_SECONDS = 300.0
# Before the expected completion a wait sleeps this share of the time still
# expected (within its maximum interval), so no poll lands much past completion.
EARLY_FRACTION = 0.75
DEFAULT_NEXT_STEP = (
    "Look at the resource in the AWS console or CLI; when it finishes, run "
    "`pulumi up` again (the provider adopts what already exists). If it is only "
    "slow, allow more time with `pulumi config set waitTimeoutMinutes <minutes>`."
)

_LOG = logging.getLogger(__name__)
T = TypeVar("T")


class Clock(Protocol):
    """Seconds that pass, and a way to let them pass."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


@dataclass(frozen=True)
class WaitRecord:
    """One finished wait: how long it took, how often it polled, and the poll
    overhead bound (the last interval slept, within which the state changed).

    `waiter` says whose polling it was: this project's, or pulumi-aws's as the
    rehearsal models it.
    """

    resource: str
    outcome: str
    waited_seconds: float
    polls: int
    overhead_bound_seconds: float
    waiter: str = "fips-keystore"


@runtime_checkable
class WaitRecorder(Protocol):
    """A clock that keeps the record of each finished wait (the emulator's)."""

    def record_wait(self, record: WaitRecord) -> None: ...


class ProgressLog(Protocol):
    """The part of `pulumi.log` that waits use."""

    def info(self, msg: str) -> Any: ...


class SystemClock:
    """Real time: used against AWS."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class HttpClock:
    """The emulator's simulated clock, reached over HTTP."""

    def __init__(self, url: str, timeout_seconds: float = 600.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_seconds = timeout_seconds

    def now(self) -> float:
        return self._call(urllib.request.Request(self.url))

    def sleep(self, seconds: float) -> None:
        body = json.dumps({"seconds": seconds}).encode()
        request = urllib.request.Request(
            f"{self.url}/sleep",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        self._call(request)

    def record_wait(self, record: WaitRecord) -> None:
        """Tell the emulator about a finished wait (rehearsal reports use it)."""
        body = json.dumps(asdict(record)).encode()
        request = urllib.request.Request(
            f"{self.url}/waits",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            self._call(request)
        except FipsKeystoreError as error:
            # The wait itself succeeded; only the rehearsal's statistics lose it.
            _LOG.warning("wait of %s not recorded: %s", record.resource, error)

    def _call(self, request: urllib.request.Request) -> float:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as reply:
                return float(json.load(reply)["now"])
        except (OSError, ValueError, KeyError) as error:
            raise FipsKeystoreError(
                f"The simulated clock at {self.url} did not answer ({error}). Start "
                f"the emulator or unset {CLOCK_URL_VARIABLE} to use real time."
            ) from error


def clock_from_environment() -> Clock:
    """The emulator's clock when FIPS_KEYSTORE_CLOCK_URL is set, else real time."""
    url = os.environ.get(CLOCK_URL_VARIABLE)
    return HttpClock(url) if url else SystemClock()


class IntervalPolicy:
    """Sparse polls while the operation cannot be done yet, tight ones near the end.

    Before `expected_seconds` the interval is three quarters of the remaining
    expected time, at least `min_interval` and at most `max_interval`: AWS's
    durations vary, and an operation that finishes early must still be noticed
    within `max_interval` (and show progress meanwhile). From the expected
    completion on, the interval starts at `min_interval` and grows by 1.5x up
    to `max_interval`.
    """

    def __init__(
        self, expected_seconds: float, min_interval: float, max_interval: float
    ) -> None:
        self.expected_seconds = expected_seconds
        self.min_interval = min_interval
        self.max_interval = max_interval
        self._late_interval: float | None = None

    def next_interval(self, elapsed: float) -> float:
        remaining = self.expected_seconds - elapsed
        if remaining > self.min_interval:
            early = max(remaining * EARLY_FRACTION, self.min_interval)
            return min(early, self.max_interval)

        if self._late_interval is None:
            self._late_interval = self.min_interval
        else:
            self._late_interval = min(self._late_interval * 1.5, self.max_interval)
        return self._late_interval


def wait_for(
    describe: Callable[[], T],
    *,
    is_done: Callable[[T], bool],
    is_failed: Callable[[T], bool] | None = None,
    resource: str,
    expected_seconds: float,
    timeout_seconds: float,
    clock: Clock | None = None,
    min_interval: float = 5,
    max_interval: float = 60,
    log: ProgressLog = pulumi.log,
    next_step: str = DEFAULT_NEXT_STEP,
) -> T:
    """Poll `describe()` until `is_done`, and return the last description.

    Raises `ResourceFailed` when `is_failed` says so and `WaitTimeout` when the
    deadline passes; both name the resource and the last state seen.
    """
    clock = clock or clock_from_environment()
    policy = IntervalPolicy(expected_seconds, min_interval, max_interval)
    start = clock.now()
    progress = _Progress(resource, log)
    polls, interval = 0, 0.0

    while True:
        current = describe()
        polls += 1
        state = state_of(current)
        elapsed = clock.now() - start
        progress.observe(state, elapsed)

        if is_done(current):
            _record(clock, WaitRecord(resource, "done", elapsed, polls, interval))
            return current
        if is_failed is not None and is_failed(current):
            _record(clock, WaitRecord(resource, "failed", elapsed, polls, interval))
            raise ResourceFailed(resource, state, next_step)

        remaining = timeout_seconds - elapsed
        if remaining <= 0:
            _record(clock, WaitRecord(resource, "timeout", elapsed, polls, interval))
            raise WaitTimeout(resource, state, elapsed, next_step)
        interval = min(policy.next_interval(elapsed), remaining)
        _LOG.debug("%s: %s, polling again in %.1fs", resource, state, interval)
        clock.sleep(interval)


def _record(clock: Clock, record: WaitRecord) -> None:
    if isinstance(clock, WaitRecorder):
        clock.record_wait(record)


def state_of(described: object) -> str:
    """The state string of a describe result: itself, or its `state` attribute."""
    if isinstance(described, str):
        return described
    return str(getattr(described, "state", described))


class _Progress:
    """One log line per state change, plus one every five minutes of waiting."""

    def __init__(self, resource: str, log: ProgressLog) -> None:
        self.resource = resource
        self.log = log
        self.last_state: str | None = None
        self.last_line_at = 0.0

    def observe(self, state: str, elapsed: float) -> None:
        changed = state != self.last_state
        overdue = elapsed - self.last_line_at >= PROGRESS_EVERY_SECONDS
        if changed or overdue:
            self.log.info(f"{self.resource}: {state} after {format_duration(elapsed)}")
            self.last_state = state
            self.last_line_at = elapsed
