"""A record of every AWS call the emulator answered, for tests and rehearsal reports."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class RecordedCall:
    service: str
    operation: str
    at: float
    outcome: str  # "ok", "throttled", "internal" or the AWS error code


class CallLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[RecordedCall] = []

    def record(self, service: str, operation: str, at: float, outcome: str) -> None:
        with self._lock:
            self._calls.append(RecordedCall(service, operation, at, outcome))

    def all(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    def count_by_operation(self, service: str | None = None) -> dict[str, int]:
        """Count calls per operation name, optionally for one service only."""
        calls = self.all()
        return dict(Counter(c.operation for c in calls if service in (None, c.service)))

    def to_json(self) -> list[dict[str, object]]:
        return [asdict(call) for call in self.all()]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
