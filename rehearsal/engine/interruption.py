"""An `up` that dies on purpose, for rehearsing recovery from an interrupted run.

`--interrupt-after NAME[,NAME...]` ends the run right after the provider answered
the create of a named resource and before the engine recorded it: the AWS side
effect is complete and only the pending create in the work directory shows it,
the worst moment for a real `pulumi up` to be killed. From then on nothing new
starts; operations under way finish and are recorded, except the creates of the
other named resources, which die unrecorded too (resources created side by side,
such as the first HSM and the CSR signing, can be caught by one crash).
"""

import threading
from collections.abc import Collection

from rehearsal.engine.errors import RehearsalError
from rehearsal.engine.state import ResourceRecord


class RunInterrupted(RehearsalError):
    """The rehearsed `up` was interrupted on purpose (`--interrupt-after`)."""


class Interruption:
    """Fires after the create of any of `resource_names`."""

    def __init__(self, resource_names: Collection[str] = ()) -> None:
        self.resource_names = frozenset(resource_names)
        self.interrupted: list[str] = []
        self._lock = threading.Lock()

    @classmethod
    def from_option(cls, option: str | None) -> "Interruption":
        """From `--interrupt-after`: comma-separated resource names, or None."""
        names = [name.strip() for name in (option or "").split(",")]
        return cls([name for name in names if name])

    def refuse_after_firing(self, record: ResourceRecord) -> None:
        """Raise when the run already died: a dead process starts nothing."""
        with self._lock:
            first = self.interrupted[0] if self.interrupted else None
        if first is not None:
            raise RunInterrupted(
                f"{record.type} {record.name} not started: the run was interrupted "
                f"after creating {first}"
            )

    def after_create(self, record: ResourceRecord) -> None:
        """Raise for a named resource: its create happened and is not recorded."""
        if record.name not in self.resource_names:
            return
        with self._lock:
            self.interrupted.append(record.name)
        raise RunInterrupted(
            f"interrupted after creating {record.type} {record.name} (id "
            f"{record.id}) and before recording it; its pending create stays in the "
            "work directory. Run `--step recover`, then `--step up` again"
        )
