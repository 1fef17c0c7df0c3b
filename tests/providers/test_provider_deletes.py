"""Deletes that do nothing outside the stack: ClusterCsrSigning and initialization.

Each leaves the cluster as it was and makes no AWS call that changes anything;
only deleting the cluster undoes what they did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dill

from providers.cluster_initialization import ClusterInitializationProvider
from providers.csr_signing import ClusterCsrSigningProvider
from tests.providers.conftest import Chain, initialization_inputs

READ_ONLY_PREFIXES = ("Describe", "List", "Get")


def cluster_snapshot(chain: Chain) -> dict[str, Any]:
    """What a delete must not change: state, certificates and HSMs."""
    cluster = chain.describe()
    return {
        "State": cluster["State"],
        "Certificates": cluster.get("Certificates"),
        "Hsms": [(hsm["HsmId"], hsm["State"]) for hsm in cluster["Hsms"]],
        "BackupRetentionPolicy": cluster.get("BackupRetentionPolicy"),
    }


def mutating_calls_during(chain: Chain, action: Callable[[], None]) -> list[str]:
    """The AWS operations `action` made that are not reads."""
    before = len(chain.emulator.calls.all())
    action()
    made = chain.emulator.calls.all()[before:]
    return [
        f"{call.service}:{call.operation}"
        for call in made
        if not call.operation.startswith(READ_ONLY_PREFIXES)
    ]


def test_delete_csr_signing_leaves_cluster_untouched(signed_cluster: Chain) -> None:
    outs = signed_cluster.signing
    assert outs is not None
    before = cluster_snapshot(signed_cluster)
    provider = dill.loads(dill.dumps(ClusterCsrSigningProvider(), recurse=True))

    mutating = mutating_calls_during(
        signed_cluster, lambda: provider.delete(f"{outs['cluster_id']}-x", outs)
    )

    assert mutating == []
    assert cluster_snapshot(signed_cluster) == before
    assert before["State"] == "UNINITIALIZED"


def test_delete_initialization_leaves_cluster_initialized(
    initialized_cluster: Chain,
) -> None:
    outs = {
        **initialization_inputs(initialized_cluster),
        "cluster_state": "INITIALIZED",
    }
    before = cluster_snapshot(initialized_cluster)
    provider = dill.loads(dill.dumps(ClusterInitializationProvider(), recurse=True))

    mutating = mutating_calls_during(
        initialized_cluster, lambda: provider.delete(f"{outs['cluster_id']}-x", outs)
    )

    assert mutating == []
    assert cluster_snapshot(initialized_cluster) == before
    assert before["State"] == "INITIALIZED"
