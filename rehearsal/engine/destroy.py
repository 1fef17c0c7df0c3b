"""Destroy: every resource in reverse dependency order, independent ones at once.

Protected resources stop destroy before it touches anything. Resources read with
`get()` (external: the stack uses them but does not own them) are dropped from the
state and never deleted. Resources marked retain_on_delete are dropped from the
state and reported; keys are scheduled for deletion (pulumi-aws behaviour) and
reported with their deletion date, and a kept key store record with the date after
which it can be deleted.
"""

from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rehearsal.engine.errors import ProtectedResourceError
from rehearsal.engine.graph import DependencyGraph
from rehearsal.engine.program import resource_slot
from rehearsal.engine.state import ResourceRecord, Workdir

if TYPE_CHECKING:
    from rehearsal.engine.runner import RunContext

DESTROY_WORKERS = 16
KEY_TYPE = "aws:kms/key:Key"
KEY_STORE_TYPE = "aws:kms/customKeyStore:CustomKeyStore"


def refuse_protected(records: Mapping[str, ResourceRecord]) -> None:
    """Raise before destroy touches anything if a resource is protected."""
    protected = [
        f"{r.type} {r.name}" for r in records.values() if r.custom and r.protect
    ]
    if protected:
        raise ProtectedResourceError(
            f"destroy stopped before touching anything: {', '.join(protected)} "
            "are protected (deleting a KMS key makes its data unreadable forever). "
            "To opt in, run `pulumi config set protectKeys false` then `pulumi up` "
            "(for a rehearsal: set fips-keystore:protectKeys: false in the config, "
            "run `--step up`, then `--step destroy`)"
        )


@dataclass
class LeftBehind:
    """A resource destroy did not remove: retained, or waiting out a deletion window."""

    record: ResourceRecord
    state: str
    until: str | None = None


class Destroyer:
    """Deletes resources in reverse dependency order, independent ones at once."""

    def __init__(
        self,
        context: "RunContext",
        workdir: Workdir,
        records: dict[str, ResourceRecord],
    ) -> None:
        self.context = context
        self.workdir = workdir
        self.records = records
        self.graph = DependencyGraph(records)
        self.done: list[ResourceRecord] = []
        self.left: list[LeftBehind] = []
        self.errors: list[str] = []
        self.failed: set[str] = set()

    def run(self) -> list[str]:
        """Delete everything deletable; return the errors met."""
        pending = set(self.records)
        running: dict[Future[None], str] = {}
        with ThreadPoolExecutor(max_workers=DESTROY_WORKERS) as pool:
            while True:
                for urn in self._ready(pending, running):
                    pending.discard(urn)
                    running[pool.submit(self._delete, self.records[urn])] = urn
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    self._settle(running.pop(future), future)
        return self.errors

    def _ready(
        self, pending: set[str], running: Mapping[Future[None], str]
    ) -> list[str]:
        # A resource goes once nothing that needs it is pending, running or failed.
        blocked = pending | set(running.values()) | self.failed
        return sorted(u for u in pending if not self.graph.dependents(u) & blocked)

    def _settle(self, urn: str, future: Future[None]) -> None:
        error = future.exception()
        if error is None:
            return
        record = self.records[urn]
        record.operation = "failed"
        self.context.console.changed(record)
        self.errors.append(f"{record.type} {record.name} ({record.id}): {error}")
        self.failed.add(urn)

    def _delete(self, record: ResourceRecord) -> None:
        if not record.custom:
            self.workdir.remove(record.urn)
            return
        if record.external:
            record.operation = "discard"
        elif record.retain_on_delete:
            record.operation = "retain"
            self.left.append(LeftBehind(record, "kept (retain_on_delete)"))
        else:
            self._delete_custom(record)
        self.workdir.remove(record.urn)
        self.done.append(record)
        self.context.console.changed(record)

    def _delete_custom(self, record: ResourceRecord) -> None:
        context = self.context
        with resource_slot(context.dynamic, record), context.link.participant():
            record.start = context.link.now()
            if record.is_dynamic:
                context.dynamic.delete(
                    record.urn, record.id, record.outputs, record.inputs
                )
                record.operation = "delete"
            else:
                deletion = context.adapter.delete(
                    record.type, record.id, record.outputs
                )
                record.operation = (
                    "delete" if deletion.state == "deleted" else deletion.state
                )
                if deletion.until:
                    self.left.append(LeftBehind(record, deletion.state, deletion.until))
            record.end = context.link.now()


def remaining_with_dates(left: list[LeftBehind]) -> list[dict[str, Any]]:
    """What destroy left in the account, each with the date it can or will go.

    A retained key store record can go once the last of its keys is deleted, or
    now when it holds none (an `up` that failed before making the key).
    """
    key_dates = [
        item.until for item in left if item.record.type == KEY_TYPE and item.until
    ]
    entries = []
    for item in left:
        record = item.record
        entry: dict[str, Any] = {
            "type": record.type,
            "name": record.name,
            "id": record.id,
        }
        entry.update(state=item.state, until=item.until)
        if record.type == KEY_STORE_TYPE and item.until is None:
            entry.update(
                delete_after=max(key_dates, default="now"),
                how=f"python -m providers.cleanup --custom-key-store-id {record.id}",
            )
        entries.append(entry)
    return entries
