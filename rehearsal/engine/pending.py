"""Pending creates in the rehearsal: the warning of `up`, and their resolution.

As with Pulumi, `up` only warns about creates an earlier run left pending; a
refresh resolves them: a pending create given an id is imported (read from the
emulator and recorded), the others are cleared when asked, or stay. `--step
recover` is `python -m recovery` against the emulator followed by that
resolution; unlike `pulumi refresh` it does not read every other resource again
(that is `--step refresh`), which keeps rehearsals of many interruptions short.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pulumi.runtime.rpc import unwrap_rpc_secret

from recovery.plan import PendingCreate, RecoveryPlan, plan_recovery
from rehearsal.engine.errors import StateError
from rehearsal.engine.state import ResourceRecord, Workdir

if TYPE_CHECKING:
    from rehearsal.engine.runner import RunContext


def pending_warning(workdir: Workdir) -> str | None:
    """Pulumi's warning about pending operations, or None when there are none."""
    pending = workdir.load_pending()
    if not pending:
        return None
    lines = [f"  * {urn}, interrupted while creating" for urn in sorted(pending)]
    return "\n".join(
        [
            f"warning: Attempting to deploy or update resources with {len(pending)} "
            "pending operations from previous deployment.",
            *lines,
            "These resources are in an unknown state. Run `--step recover` (for "
            "a stack: `python -m recovery --stack <stack>` and the `pulumi "
            "refresh` it prints) before `up`, or the pulumi-aws ones are created "
            "a second time.",
        ]
    )


def plan_from_workdir(workdir: Workdir, region: str) -> RecoveryPlan:
    """What `python -m recovery` would say about this work directory's state."""
    pending = [
        PendingCreate(record.urn, record.type, _plain_inputs(record))
        for record in workdir.load_pending().values()
    ]
    recorded = {record.id for record in workdir.load_all().values() if record.id}
    return plan_recovery(pending, recorded, region)


def resolve_pending(
    context: "RunContext",
    imports: Mapping[str, str],
    clear: bool,
) -> list[ResourceRecord]:
    """Import the pending creates given an id, clear the rest if asked.

    Returns the resolved ones, with operation `import` or `clear`.
    """
    workdir = context.workdir
    done = []
    for urn, record in workdir.load_pending().items():
        if urn in imports:
            _import(context, record, imports[urn])
        elif clear:
            workdir.end_pending(urn)
            record.operation = "clear"
            context.console.line(f"- {record.name}: pending create cleared")
        else:
            continue
        done.append(record)
    return done


def _import(context: "RunContext", record: ResourceRecord, id_: str) -> None:
    if record.is_dynamic:
        raise StateError(
            f"{record.name} is a dynamic resource: it cannot be imported by id. "
            "Clear its pending create; the next up adopts what exists"
        )
    found = context.adapter.read(record.type, id_, record.inputs)
    if found is None:
        raise StateError(
            f"cannot import {record.type} {record.name}: no resource with id "
            f"{id_} in the emulator. Check the id, or clear the pending create"
        )
    record.id, record.outputs = id_, {**found, "id": id_}
    record.operation = "import"
    context.workdir.save(record)
    context.workdir.end_pending(record.urn)
    context.console.changed(record)


def _plain_inputs(record: ResourceRecord) -> dict[str, object]:
    return {key: unwrap_rpc_secret(value) for key, value in record.inputs.items()}
