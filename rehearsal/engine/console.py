"""Console lines of a rehearsal: one per resource state change, on simulated time."""

import sys
import threading
from typing import TextIO

from rehearsal.engine.emulator_link import EmulatorLink
from rehearsal.engine.state import ResourceRecord

_VERBS = {
    "create": ("+", "created"),
    "update": ("~", "updated"),
    "delete": ("-", "deleted"),
    "retain": ("-", "left in the account (retain_on_delete)"),
    "pending deletion": ("-", "scheduled for deletion"),
    "scheduled for deletion": ("-", "scheduled for deletion"),
    "left with its secret": ("-", "deleted with its secret"),
    "drift": ("~", "drifted: its inputs are no longer true"),
    "refreshed": ("~", "outputs refreshed"),
    "failed": ("!", "failed"),
    "interrupted": ("!", "interrupted: created, never recorded (pending create)"),
    "import": ("=", "imported"),
}


# Where a stamp would be, for lines whose simulated time is not known.
UNSTAMPED = " " * len("  0m00s")


class Console:
    """Prints resource events and provider log lines, prefixed with simulated time."""

    def __init__(self, link: EmulatorLink, stream: TextIO | None = None) -> None:
        self.link = link
        self.stream = stream or sys.stdout
        self.start = link.now()
        self._lock = threading.Lock()

    def changed(self, record: ResourceRecord) -> None:
        """Print a resource's new state; unchanged resources print nothing."""
        symbol, verb = _VERBS.get(record.operation, ("", ""))
        if symbol:
            self.line(f"{symbol} {display_type(record)} {record.name} {verb}")

    def program_log(self, text: str) -> None:
        """Print a line the program logged (`pulumi.log`), such as its cost estimate."""
        self.line(f"  : {text}")

    def provider_log(self, text: str) -> None:
        """Print a line the dynamic providers wrote to stderr, without a time stamp.

        The provider process may already have slept (moving the simulated clock)
        when its line arrives here, so the clock now is not the line's time; the
        providers' progress lines carry their own elapsed time.
        """
        self._print(f"[{UNSTAMPED}]   | {text}")

    def line(self, text: str) -> None:
        """Print one line stamped with the simulated time since the run began."""
        self._print(f"[{elapsed(self.link.now() - self.start)}] {text}")

    def _print(self, text: str) -> None:
        with self._lock:
            print(text, file=self.stream, flush=True)


def display_type(record: ResourceRecord) -> str:
    """The type as people know it: the provider module for unnamed dynamic ones."""
    if record.type == "pulumi-python:dynamic:Resource" and record.provider_module:
        return f"dynamic:{record.provider_module}"
    return record.type


def elapsed(seconds: float) -> str:
    """Render simulated seconds as `  5m12s` (hours shown as minutes)."""
    minutes, rest = divmod(int(max(seconds, 0)), 60)
    return f"{minutes:3d}m{rest:02d}s"
