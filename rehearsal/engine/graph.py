"""The resource dependency graph: destroy order and the deployment's critical path.

Edges come from what the SDK sent with each registration (explicit `depends_on`,
the resources behind every input Output, and the parent), as recorded in the state.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rehearsal.engine.state import ResourceRecord

# Which timing-profile operations a resource waits for, by type; a dynamic resource
# is also known by its provider's module (see dynamic_client.provider_module).
_PROFILE_OPERATIONS: dict[str, tuple[str, ...]] = {
    "aws:cloudhsmv2/cluster:Cluster": ("cluster_create",),
    "aws:cloudhsmv2/hsm:Hsm": ("hsm_create",),
    "aws:ec2/instance:Instance": ("instance_ssm_online", "client_install"),
    # The signing waits for the first HSM's CSR itself, so the chain runs
    # through it rather than through the HSM resource.
    "pulumi-python:dynamic:ClusterCsrSigning": ("hsm_create",),
    "providers.csr_signing": ("hsm_create",),
    "pulumi-python:dynamic:ClusterInitialization": ("cluster_initialize",),
    "pulumi-python:dynamic:KeyStoreConnection": ("key_store_connect",),
    "providers.cluster_initialization": ("cluster_initialize",),
    "providers.key_store_connection": ("key_store_connect",),
}

# The same for destroy: what each deletion waits for.
_DESTROY_OPERATIONS: dict[str, tuple[str, ...]] = {
    "aws:cloudhsmv2/cluster:Cluster": ("cluster_delete",),
    "aws:cloudhsmv2/hsm:Hsm": ("hsm_delete",),
    "pulumi-python:dynamic:KeyStoreConnection": ("key_store_disconnect",),
    "providers.key_store_connection": ("key_store_disconnect",),
}


@dataclass(frozen=True)
class CriticalPath:
    """The longest chain of dependent resources, weighted by AWS operation time."""

    seconds: float
    urns: tuple[str, ...]


class DependencyGraph:
    """Dependencies between the resources of one stack, by URN."""

    def __init__(self, records: Mapping[str, ResourceRecord]) -> None:
        self._records = dict(records)
        self._needs = {urn: self._edges_of(record) for urn, record in records.items()}

    def dependencies(self, urn: str) -> frozenset[str]:
        """The resources `urn` needs (must exist before it, be deleted after it)."""
        return self._needs[urn]

    def dependents(self, urn: str) -> frozenset[str]:
        """The resources that need `urn`."""
        return frozenset(other for other, needs in self._needs.items() if urn in needs)

    def creation_order(self) -> list[str]:
        """Every URN, each after everything it needs (ties broken by name)."""
        order: list[str] = []
        placed: set[str] = set()
        pending = sorted(self._needs)
        while pending:
            ready = [urn for urn in pending if self._needs[urn] <= placed]
            if not ready:
                raise ValueError(f"dependency cycle among {', '.join(pending)}")
            order.extend(ready)
            placed.update(ready)
            pending = [urn for urn in pending if urn not in placed]
        return order

    def destroy_order(self) -> list[str]:
        """Every URN, each before everything it needs."""
        return list(reversed(self.creation_order()))

    def critical_path(self, seconds_of: Mapping[str, float]) -> CriticalPath:
        """The chain with the largest sum of `seconds_of[urn]` (missing: 0)."""
        best: dict[str, CriticalPath] = {}
        for urn in self.creation_order():
            own = seconds_of.get(urn, 0.0)
            before = max(
                (best[need] for need in self._needs[urn]),
                key=lambda path: path.seconds,
                default=CriticalPath(0.0, ()),
            )
            best[urn] = CriticalPath(before.seconds + own, (*before.urns, urn))
        return max(
            best.values(), key=lambda path: path.seconds, default=CriticalPath(0.0, ())
        )

    def _edges_of(self, record: ResourceRecord) -> frozenset[str]:
        # Edges to resources outside the state (already deleted, or never recorded)
        # cannot order anything.
        edges = set(record.dependencies)
        if record.parent:
            edges.add(record.parent)
        return frozenset(edge for edge in edges if edge in self._records)


def profile_seconds(
    records: Iterable[ResourceRecord],
    profile: Mapping[str, float],
    step: str = "create",
) -> dict[str, float]:
    """AWS operation seconds each resource waits for under a timing profile.

    `step` is "create" or "destroy"; the longest chain of destroy seconds is the
    destroy's floor, as the longest chain of create seconds is the deployment's
    (a chain weighs the same read forwards or backwards).
    """
    by_type = _DESTROY_OPERATIONS if step == "destroy" else _PROFILE_OPERATIONS
    seconds = {}
    for record in records:
        operations = by_type.get(record.type, by_type.get(record.provider_module, ()))
        seconds[record.urn] = sum(float(profile[operation]) for operation in operations)
    return seconds
