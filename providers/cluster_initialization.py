"""Initializes the cluster with the signed CSR and the trust anchor.

InitializeCluster can run once per cluster; a cluster found already
INITIALIZE_IN_PROGRESS, INITIALIZED or ACTIVE is adopted (an earlier run got
that far). Deleting the resource does nothing: only deleting the cluster undoes
initialization.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from pulumi import ResourceOptions
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from providers import aws
from providers._cluster import (
    GONE,
    Cluster,
    ClusterState,
    describe_cluster,
    require_cluster,
)
from providers._inputs import (
    CLUSTER_ID_PATTERN,
    InputCheck,
    as_int,
    changed_inputs,
    input_props,
)
from providers.customer_ca import load_certificate, trust_anchor_problems
from providers.errors import CertificateError, ClusterStateError
from providers.waiting import wait_for

EXPECTED_SECONDS = 300
STARTED = frozenset(
    {ClusterState.INITIALIZE_IN_PROGRESS, ClusterState.INITIALIZED, ClusterState.ACTIVE}
)
DONE = frozenset({ClusterState.INITIALIZED, ClusterState.ACTIVE})
LOST = frozenset({GONE, ClusterState.DELETE_IN_PROGRESS, ClusterState.DELETED})
REPLACING_INPUTS = (
    "region",
    "cluster_id",
    "signed_certificate_pem",
    "trust_anchor_pem",
)


def initialize_cluster(props: dict[str, Any]) -> Cluster:
    """InitializeCluster unless already started, then wait for INITIALIZED."""
    cluster_id, region = props["cluster_id"], props.get("region")
    cluster = require_cluster(cluster_id, region)
    if cluster.state in STARTED:
        pulumi.log.info(
            f"CloudHSM cluster {cluster_id} is already {cluster.state}: adopting it."
        )
    elif cluster.state == ClusterState.UNINITIALIZED:
        _require_current_csr(cluster, props["signed_certificate_pem"])
        _initialize(cluster_id, region, props)
    else:
        raise _cannot_initialize(cluster)
    return wait_until_initialized(cluster_id, region, as_int(props["timeout_seconds"]))


def _initialize(cluster_id: str, region: str | None, props: dict[str, Any]) -> None:
    try:
        aws.client("cloudhsmv2", region).initialize_cluster(
            ClusterId=cluster_id,
            SignedCert=props["signed_certificate_pem"],
            TrustAnchor=props["trust_anchor_pem"],
        )
    except ClientError as error:
        raise ClusterStateError(
            f"InitializeCluster refused CloudHSM cluster {cluster_id}: "
            f"{aws.error_code(error)}: {aws.error_message(error)}. Check the "
            "cluster with `aws cloudhsmv2 describe-clusters "
            f"--filters clusterIds={cluster_id}`, fix what AWS names, then run "
            "`pulumi up` again."
        ) from error


def _require_current_csr(cluster: Cluster, signed_certificate_pem: str) -> None:
    """Refuse a certificate signed for a CSR the cluster no longer shows.

    AWS changes the CSR when it replaces the first HSM before initialization;
    a certificate for the old one would be refused on every later run.
    """
    csr_pem = cluster.certificates.get("ClusterCsr")
    if not csr_pem:
        return
    current = x509.load_pem_x509_csr(csr_pem.encode()).public_key()
    signed = load_certificate(signed_certificate_pem, "The signed cluster certificate")
    if signed.public_key() != current:
        raise CertificateError(
            f"The signed certificate of CloudHSM cluster {cluster.cluster_id} was "
            "issued for an earlier CSR: AWS replaced the first HSM after the CSR "
            "was signed, and InitializeCluster would refuse it. Sign the current "
            "CSR: run `pulumi up --replace <URN>` with the URN of the "
            "ClusterCsrSigning resource (`pulumi stack --show-urns`)."
        )


def wait_until_initialized(
    cluster_id: str, region: str | None, timeout_seconds: int
) -> Cluster:
    """Wait for INITIALIZED or ACTIVE; raise if the cluster goes away."""
    return wait_for(
        lambda: describe_cluster(cluster_id, region),
        is_done=lambda cluster: cluster.state in DONE,
        is_failed=lambda cluster: cluster.state in LOST,
        resource=f"CloudHSM cluster {cluster_id} initialization",
        expected_seconds=EXPECTED_SECONDS,
        timeout_seconds=timeout_seconds,
        next_step=(
            f"Check `aws cloudhsmv2 describe-clusters --filters "
            f"clusterIds={cluster_id}` (StateMessage says why); when it is "
            "INITIALIZED run `pulumi up` again, which adopts it."
        ),
    )


class ClusterInitializationProvider(ResourceProvider):
    """InitializeCluster, adopting a cluster an earlier run initialized."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = InputCheck(news)
        inputs.region()
        inputs.text("cluster_id", CLUSTER_ID_PATTERN, "a CloudHSM cluster id")
        inputs.non_empty("signed_certificate_pem", "the signed cluster certificate")
        inputs.non_empty("trust_anchor_pem", "the trust anchor certificate in PEM")
        inputs.integer("timeout_seconds", 60, 86400, default=1800)
        _check_certificates(inputs)
        return inputs.result()

    def create(self, props: dict[str, Any]) -> CreateResult:
        cluster = initialize_cluster(props)
        outs = {**props, "cluster_state": cluster.state}
        return CreateResult(f"{props['cluster_id']}-initialization", outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        cluster = describe_cluster(props["cluster_id"], props.get("region"))
        return ReadResult(id_, {**props, "cluster_state": cluster.state})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = changed_inputs(olds, news, ClusterInitializationArgs)
        replaces = [name for name in changed if name in REPLACING_INPUTS]
        return DiffResult(
            changes=bool(changed), replaces=replaces, delete_before_replace=True
        )

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> UpdateResult:
        return UpdateResult({**olds, **news})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Only deleting the cluster undoes initialization."""


def _check_certificates(inputs: InputCheck) -> None:
    """The trust anchor is one CloudHSM accepts and it issued the signed certificate."""
    if not (
        inputs.known("trust_anchor_pem") and inputs.known("signed_certificate_pem")
    ):
        return
    anchor = _loaded(inputs, "trust_anchor_pem")
    signed = _loaded(inputs, "signed_certificate_pem")
    if anchor is None or signed is None:
        return
    problems = trust_anchor_problems(anchor)
    if problems:
        inputs.fail(
            "trust_anchor_pem",
            f"trust_anchor_pem cannot be the cluster's trust anchor: "
            f"{'; '.join(problems)}.",
        )
    try:
        signed.verify_directly_issued_by(anchor)
    except (ValueError, TypeError, InvalidSignature):
        inputs.fail(
            "signed_certificate_pem",
            "signed_certificate_pem was not issued by trust_anchor_pem; give the "
            "certificate that the trust anchor's CA signed from the cluster CSR.",
        )


def _loaded(inputs: InputCheck, prop: str) -> x509.Certificate | None:
    try:
        return load_certificate(inputs.inputs[prop], prop)
    except CertificateError as error:
        inputs.fail(prop, str(error))
        return None


def _cannot_initialize(cluster: Cluster) -> ClusterStateError:
    message = cluster.description.get("StateMessage") or "no state message"
    return ClusterStateError(
        f"CloudHSM cluster {cluster.cluster_id} is {cluster.state} ({message}); it "
        "can be initialized only when UNINITIALIZED, with an ACTIVE HSM. Wait for "
        "the cluster and its first HSM, or fix what the state message says, then "
        "run `pulumi up` again."
    )


@dataclass
class ClusterInitializationArgs:
    cluster_id: pulumi.Input[str]
    signed_certificate_pem: pulumi.Input[str]
    trust_anchor_pem: pulumi.Input[str]
    region: pulumi.Input[str] | None = None
    timeout_seconds: pulumi.Input[int] = 1800


class ClusterInitialization(pulumi.dynamic.Resource, name="ClusterInitialization"):
    """The cluster initialized with the customer's trust anchor."""

    cluster_id: pulumi.Output[str]
    cluster_state: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: ClusterInitializationArgs,
        opts: ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            ClusterInitializationProvider(),
            resource_name,
            {**input_props(args), "cluster_state": None},
            ResourceOptions.merge(opts, ResourceOptions(additional_secret_outputs=[])),
        )
