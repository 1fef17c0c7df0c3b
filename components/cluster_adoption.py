"""Decides how a stack takes over an existing cluster (`clusterId`), before `up`.

The cluster's state is looked up with pulumi-aws `getCluster` while the program
runs (preview included), so a cluster the stack cannot take over fails before
anything is created. ACTIVE: nothing is signed, initialized or activated.
UNINITIALIZED without an HSM: the stack goes on as with a new cluster (first HSM,
CSR signed, initialized, activated). Every other state is refused, with what to
do. Known gaps: `getCluster` does not list HSMs, so the HSMs an adopted cluster
already has are neither counted nor managed (`hsmCount` HSMs are added); an
UNINITIALIZED cluster whose first HSM is still being created is not detected
here and fails at CreateHsm instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.errors import ComponentError
from stack_config import StackConfig

ACTIVE = "ACTIVE"
UNINITIALIZED = "UNINITIALIZED"

# What to do about each state the stack cannot take over.
REFUSED_STATES = {
    "CREATE_IN_PROGRESS": "wait until it is UNINITIALIZED, then run `pulumi up` again",
    "INITIALIZE_IN_PROGRESS": "wait until it is INITIALIZED, activate it with "
    "`cloudhsm-cli cluster activate`, then run `pulumi up` again",
    "INITIALIZED": "activate it with `cloudhsm-cli cluster activate` (the admin "
    "password becomes adminPassword), then run `pulumi up` again",
    "UPDATE_IN_PROGRESS": "wait until the update ends (ACTIVE), then run "
    "`pulumi up` again",
    "DEGRADED": "repair it first (AWS Support, or restore a backup into a new "
    "cluster with sourceBackupId instead of clusterId)",
    "DELETE_IN_PROGRESS": "it is being deleted: restore its backup into a new "
    "cluster with `pulumi config set sourceBackupId backup-...` and "
    "`pulumi config rm clusterId`",
    "DELETED": "it is deleted: restore its backup into a new cluster with "
    "`pulumi config set sourceBackupId backup-...` and `pulumi config rm "
    "clusterId` (aws cloudhsmv2 describe-backups lists the backups)",
}


class ClusterAdoptionError(ComponentError):
    """The cluster named by `clusterId` cannot be taken over by this stack."""


@dataclass(frozen=True)
class AdoptedCluster:
    """The existing cluster a stack takes over, as found before `up`."""

    cluster_id: str
    state: str

    @property
    def needs_initialization(self) -> bool:
        """True when the stack signs the CSR, initializes and activates it."""
        return self.state == UNINITIALIZED


def adopted_cluster(
    config: StackConfig, opts: pulumi.InvokeOptions | None = None
) -> AdoptedCluster | None:
    """The cluster `clusterId` names, checked to be one the stack can take over.

    None when the stack makes its own cluster. Raises `ClusterAdoptionError`
    naming the cluster, its state and what to do.
    """
    if config.cluster_id is None:
        return None
    found = aws.cloudhsmv2.get_cluster(cluster_id=config.cluster_id, opts=opts)
    adopted = AdoptedCluster(config.cluster_id, found.cluster_state)

    _refuse_state(adopted)
    if adopted.needs_initialization:
        _refuse_existing_hsm(adopted, _cluster_csr(found))
        _require_signing_ca(adopted, config)
    else:
        _require_trust_anchor(adopted, config)
    return adopted


def _refuse_state(adopted: AdoptedCluster) -> None:
    if adopted.state in (ACTIVE, UNINITIALIZED):
        return
    next_step = REFUSED_STATES.get(
        adopted.state, "wait until it is ACTIVE, then run `pulumi up` again"
    )
    raise ClusterAdoptionError(
        f"clusterId {adopted.cluster_id} is in state {adopted.state}; a stack can "
        f"take over only an ACTIVE or UNINITIALIZED cluster. Nothing was created: "
        f"{next_step}."
    )


def _cluster_csr(found: aws.cloudhsmv2.GetClusterResult) -> str | None:
    certificates = found.cluster_certificates or []
    return certificates[0].cluster_csr if certificates else None


def _refuse_existing_hsm(adopted: AdoptedCluster, cluster_csr: str | None) -> None:
    # AWS shows the CSR once the first HSM is ACTIVE, and refuses a second HSM
    # before activation: the stack could not add its own first HSM.
    if not cluster_csr:
        return
    raise ClusterAdoptionError(
        f"clusterId {adopted.cluster_id} is UNINITIALIZED and already has an HSM, "
        "which this stack did not make and cannot sign the CSR of. Nothing was "
        "created: delete that HSM (aws cloudhsmv2 delete-hsm --cluster-id "
        f"{adopted.cluster_id} --hsm-id hsm-...), then run `pulumi up` again."
    )


def _require_signing_ca(adopted: AdoptedCluster, config: StackConfig) -> None:
    if config.ca_certificate is None or config.ca_private_key is not None:
        return
    raise ClusterAdoptionError(
        f"clusterId {adopted.cluster_id} is UNINITIALIZED, so its CSR must be "
        "signed, but caCertificate is set without caPrivateKey. Set the key with "
        '`pulumi config set --secret caPrivateKey -- "$(cat ca-key.pem)"`, or '
        "remove caCertificate so the stack makes its own CA."
    )


def _require_trust_anchor(adopted: AdoptedCluster, config: StackConfig) -> None:
    if config.ca_certificate is not None:
        return
    raise ClusterAdoptionError(
        f"clusterId {adopted.cluster_id} is {adopted.state}, so it already has a "
        "trust anchor, but caCertificate is unset. Set the certificate that "
        'initialized it: `pulumi config set caCertificate -- "$(cat ca.pem)"`.'
    )
