"""The emulator's simulated clock: time moves only when every participant sleeps.

Resource models read `SimulatedClock.now()` to compute their states, so a
deployment that takes most of an hour on AWS rehearses in seconds.
"""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class SimulatedClock:
    """A discrete-event clock shared by every thread of one emulator.

    The clock jumps to the earliest wake time once the number of sleepers is
    at least ``max(1, participants)``; `advance` moves it by hand.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._now = 0.0
        self._participants = 0
        self._wake_times: dict[int, float] = {}
        self._tickets = itertools.count()
        self._closed = False

    def now(self) -> float:
        with self._condition:
            return self._now

    @property
    def participants(self) -> int:
        with self._condition:
            return self._participants

    def datetime_at(self, t: float) -> datetime:
        return EPOCH + timedelta(seconds=t)

    def sleep(self, seconds: float) -> float:
        """Block until simulated time reaches now + seconds; return the new time."""
        with self._condition:
            if seconds <= 0 or self._closed:
                return self._now
            ticket = next(self._tickets)
            wake_at = self._now + seconds
            self._wake_times[ticket] = wake_at
            self._jump_if_everyone_sleeps()

            while self._now < wake_at and not self._closed:
                self._condition.wait()

            del self._wake_times[ticket]
            # The sleepers left behind may now meet the rule on their own.
            self._jump_if_everyone_sleeps()
            return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(
                f"cannot advance the clock by {seconds} seconds: time only moves "
                "forward; pass a positive number of seconds"
            )
        with self._condition:
            self._now += seconds
            self._condition.notify_all()
            return self._now

    def add_participants(self, delta: int) -> int:
        with self._condition:
            if self._participants + delta < 0:
                raise ValueError(
                    f"participants would drop to {self._participants + delta}: "
                    "every -1 must follow a +1 from the same caller"
                )
            self._participants += delta
            self._jump_if_everyone_sleeps()
            return self._participants

    def close(self) -> None:
        """Wake every sleeper for good, so server threads can finish."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def _jump_if_everyone_sleeps(self) -> None:
        # Sleepers whose wake time has passed are already on their way out and
        # must not count: they are running, not sleeping.
        pending = [t for t in self._wake_times.values() if t > self._now]
        if pending and len(pending) >= max(1, self._participants):
            self._now = min(pending)
            self._condition.notify_all()
