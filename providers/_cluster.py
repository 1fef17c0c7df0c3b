"""Reading a CloudHSM cluster, shared by the providers that wait on its state."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from providers import aws
from providers.errors import ClusterStateError


class ClusterState(StrEnum):
    CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
    UNINITIALIZED = "UNINITIALIZED"
    INITIALIZE_IN_PROGRESS = "INITIALIZE_IN_PROGRESS"
    INITIALIZED = "INITIALIZED"
    ACTIVE = "ACTIVE"
    UPDATE_IN_PROGRESS = "UPDATE_IN_PROGRESS"
    MODIFY_IN_PROGRESS = "MODIFY_IN_PROGRESS"
    ROLLBACK_IN_PROGRESS = "ROLLBACK_IN_PROGRESS"
    DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
    DELETED = "DELETED"
    DEGRADED = "DEGRADED"


GONE = "GONE"


class Cluster:
    """The answer of DescribeClusters for one cluster; `state` is GONE if absent."""

    def __init__(self, cluster_id: str, description: dict[str, Any] | None) -> None:
        self.cluster_id = cluster_id
        self.description = description or {}
        self.state = str(self.description.get("State", GONE))

    @property
    def exists(self) -> bool:
        return self.state not in (GONE, ClusterState.DELETED)

    @property
    def certificates(self) -> dict[str, str]:
        return dict(self.description.get("Certificates") or {})

    @property
    def hsms(self) -> list[dict[str, Any]]:
        return list(self.description.get("Hsms") or [])


def describe_cluster(cluster_id: str, region: str | None) -> Cluster:
    """The cluster as AWS shows it now (DescribeClusters filtered by id)."""
    cloudhsm = aws.client("cloudhsmv2", region)
    reply = cloudhsm.describe_clusters(Filters={"clusterIds": [cluster_id]})
    found = [c for c in reply.get("Clusters", []) if c.get("ClusterId") == cluster_id]
    return Cluster(cluster_id, found[0] if found else None)


def require_cluster(cluster_id: str, region: str | None) -> Cluster:
    """Like `describe_cluster`, but raise when the cluster does not exist."""
    cluster = describe_cluster(cluster_id, region)
    if not cluster.exists:
        raise ClusterStateError(
            f"CloudHSM cluster {cluster_id} does not exist in "
            f"{region or 'the default Region'} (state {cluster.state}). Check the "
            "cluster_id and region inputs, or run `pulumi refresh` if it was "
            "deleted outside Pulumi."
        )
    return cluster
