"""Signs the cluster's CSR with the customer CA, after checking the HSM's identity.

The CSR and the HSM certificates exist only while the cluster is UNINITIALIZED,
so this resource keeps them in its outputs: after initialization nothing can
read them again, and a refresh keeps what the state holds. When AWS replaces
the first HSM before initialization, the HSM keeps its id and address but gets
a new key, so the cluster shows a new CSR: this resource signs the CSR of its
latest read, never an older one. `signed_hsm_id` records the HSM the CSR came
from; it differs from `hsm_id` only when that HSM was deleted and another one
became the cluster's first.

`hsm_id` may be left out: the resource then needs only the cluster and waits
for the first HSM's CSR itself, so the program need not make it depend on the
first HSM (which lets destroy delete every HSM at once). `signed_hsm_ip` gives
the steps after initialization an HSM address without that dependency.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass
from typing import Any

import pulumi
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pulumi import ResourceOptions
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from providers._cluster import GONE, Cluster, ClusterState, describe_cluster
from providers._inputs import (
    CLUSTER_ID_PATTERN,
    HSM_ID_PATTERN,
    InputCheck,
    as_int,
    changed_inputs,
    input_props,
)
from providers.customer_ca import fingerprint_sha256, load_supplied_ca
from providers.errors import (
    CertificateError,
    ClusterStateError,
    IdentityVerificationError,
)
from providers.waiting import wait_for

# SHA-256 of the AWS CloudHSM Root G1 certificate (valid to 2027-04-26).
AWS_ROOT_G1_FINGERPRINT = (
    "9C:69:58:FC:AC:BB:6F:0E:36:54:6B:E1:F2:CE:59:AD:"
    "84:EE:20:68:35:E6:97:7F:69:7D:30:DC:E9:A7:B5:70"
)
CSR_READY = "CSR_READY"
ALREADY_INITIALIZED = frozenset(
    {ClusterState.INITIALIZE_IN_PROGRESS, ClusterState.INITIALIZED, ClusterState.ACTIVE}
)
CLUSTER_LOST = frozenset({GONE, ClusterState.DELETE_IN_PROGRESS, ClusterState.DELETED})
# The CSR appears when the first HSM is ACTIVE: about an HSM's creation time
# after the cluster is UNINITIALIZED, when this resource starts waiting.
EXPECTED_CSR_SECONDS = 720
REPLACING_INPUTS = ("region", "cluster_id", "ca_certificate_pem", "ca_private_key_pem")
OUTPUTS = (
    "cluster_csr_pem",
    "hsm_certificate_pem",
    "aws_hardware_certificate_pem",
    "manufacturer_hardware_certificate_pem",
    "signed_certificate_pem",
    "identity_verified",
    "signed_hsm_id",
    "signed_hsm_ip",
)


@dataclass(frozen=True)
class _CsrWait:
    state: str
    cluster: Cluster


def sign_csr(
    csr_pem: str,
    ca_certificate_pem: str,
    ca_private_key_pem: str,
    validity_days: int,
    now: datetime.datetime | None = None,
) -> str:
    """Sign the cluster CSR with the CA: CSR subject, random serial, SHA-256."""
    csr = _load_csr(csr_pem)
    ca_certificate = x509.load_pem_x509_certificate(ca_certificate_pem.encode())
    ca_key = serialization.load_pem_private_key(
        ca_private_key_pem.encode(), password=None
    )
    if not isinstance(ca_key, rsa.RSAPrivateKey):
        raise CertificateError(
            f"The CA private key is {type(ca_key).__name__}; CloudHSM trust anchors "
            "are RSA 2048 or 4096. Use the key of the CustomerCa resource."
        )
    start = now or datetime.datetime.now(datetime.UTC)

    certificate = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca_certificate.subject)
        .public_key(csr.public_key())
        .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1)
        .not_valid_before(start - datetime.timedelta(minutes=5))
        .not_valid_after(start + datetime.timedelta(days=validity_days))
        .sign(ca_key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def verify_identity(
    certificates: dict[str, str],
    aws_root_pem: str | None,
    manufacturer_root_pem: str | None,
) -> None:
    """Prove the CSR comes from a genuine HSM, or raise IdentityVerificationError.

    The HSM certificate must be issued by both hardware certificates, each of
    them by its root, and the CSR must be signed by the HSM's own key.
    """
    csr = _load_csr(certificates["ClusterCsr"])
    hsm = _certificate(certificates, "HsmCertificate")
    if aws_root_pem:
        aws_hardware = _certificate(certificates, "AwsHardwareCertificate")
        _require_issued(hsm, aws_hardware, "HsmCertificate", "AwsHardwareCertificate")
        _require_issued(
            aws_hardware, _root(aws_root_pem), "AwsHardwareCertificate", "AWS root"
        )
    if manufacturer_root_pem:
        manufacturer = _certificate(certificates, "ManufacturerHardwareCertificate")
        _require_issued(
            hsm, manufacturer, "HsmCertificate", "ManufacturerHardwareCertificate"
        )
        _require_issued(
            manufacturer,
            _root(manufacturer_root_pem),
            "ManufacturerHardwareCertificate",
            "manufacturer root",
        )
    _require_csr_from_hsm(csr, hsm)


class ClusterCsrSigningProvider(ResourceProvider):
    """Waits for the CSR, verifies the HSM, signs; state is the only record."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = InputCheck(news)
        inputs.region()
        inputs.text("cluster_id", CLUSTER_ID_PATTERN, "a CloudHSM cluster id")
        inputs.optional_text("hsm_id", HSM_ID_PATTERN, "a CloudHSM HSM id")
        inputs.non_empty("ca_certificate_pem", "the CA certificate in PEM")
        inputs.non_empty("ca_private_key_pem", "the CA private key in PEM")
        inputs.boolean("require_identity", True)
        inputs.integer("validity_days", 1, 36500, default=3650)
        inputs.integer("timeout_seconds", 60, 86400, default=3600)
        _check_roots(inputs)
        _check_ca(inputs)
        return inputs.result()

    def create(self, props: dict[str, Any]) -> CreateResult:
        cluster = self._wait_for_csr(props)
        certificates = cluster.certificates
        seen_hsm_id = _first_hsm_id(cluster, props.get("hsm_id"))
        verified = self._verify(props, certificates)

        signed = sign_csr(
            certificates["ClusterCsr"],
            props["ca_certificate_pem"],
            props["ca_private_key_pem"],
            as_int(props["validity_days"]),
        )
        outs = {**props, **_certificate_outputs(certificates)}
        outs |= {
            "signed_certificate_pem": signed,
            "identity_verified": verified,
            "signed_hsm_id": seen_hsm_id,
            "signed_hsm_ip": _hsm_ip(cluster, seen_hsm_id),
        }
        return CreateResult(f"{props['cluster_id']}-csr-signing", outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # The certificates vanish from AWS at initialization: state is the truth.
        return ReadResult(id_, props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = changed_inputs(olds, news, ClusterCsrSigningArgs)
        replaces = [name for name in changed if name in REPLACING_INPUTS]
        return DiffResult(
            changes=bool(changed),
            replaces=replaces,
            stables=list(OUTPUTS),
        )

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> UpdateResult:
        kept = {name: olds[name] for name in OUTPUTS if name in olds}
        return UpdateResult({**olds, **news, **kept})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Signing left nothing outside the state; deleting the cluster undoes it."""

    def _wait_for_csr(self, props: dict[str, Any]) -> Cluster:
        cluster_id = props["cluster_id"]
        waited = wait_for(
            lambda: _csr_wait(cluster_id, props.get("region")),
            is_done=lambda current: (
                current.state == CSR_READY
                or current.cluster.state in ALREADY_INITIALIZED
            ),
            is_failed=lambda current: current.cluster.state in CLUSTER_LOST,
            resource=f"CSR of CloudHSM cluster {cluster_id}",
            expected_seconds=EXPECTED_CSR_SECONDS,
            timeout_seconds=as_int(props["timeout_seconds"]),
            next_step=(
                "The CSR appears once the first HSM is ACTIVE and the cluster is "
                f"UNINITIALIZED. Check `aws cloudhsmv2 describe-clusters --filters "
                f"clusterIds={cluster_id}`, then run `pulumi up` again."
            ),
        )
        if waited.state != CSR_READY:
            raise ClusterStateError(
                f"CloudHSM cluster {cluster_id} is already {waited.cluster.state}, "
                "so its CSR can no longer be read and this stack holds no signed "
                "copy. If another run initialized it, import this resource's "
                "state from that stack; otherwise delete the cluster and run "
                "`pulumi up` to start from a new one."
            )
        return waited.cluster

    def _verify(self, props: dict[str, Any], certificates: dict[str, str]) -> bool:
        aws_root = props.get("aws_root_certificate_pem")
        manufacturer_root = props.get("manufacturer_root_certificate_pem")
        if not aws_root and not manufacturer_root:
            pulumi.log.warn(
                f"CloudHSM cluster {props['cluster_id']}: HSM identity not verified "
                "(no root certificates given, require_identity is false)."
            )
            return False
        if aws_root:
            _note_unexpected_aws_root(aws_root)
        verify_identity(certificates, aws_root, manufacturer_root)
        return True


def _csr_wait(cluster_id: str, region: str | None) -> _CsrWait:
    cluster = describe_cluster(cluster_id, region)
    if cluster.state == ClusterState.UNINITIALIZED and cluster.certificates.get(
        "ClusterCsr"
    ):
        return _CsrWait(CSR_READY, cluster)
    hsm_states = ",".join(str(hsm.get("State")) for hsm in cluster.hsms) or "no HSM"
    return _CsrWait(f"{cluster.state} (HSMs: {hsm_states})", cluster)


def _first_hsm_id(cluster: Cluster, expected_hsm_id: str | None) -> str | None:
    active = [hsm for hsm in cluster.hsms if hsm.get("State") == "ACTIVE"]
    ids = [str(hsm.get("HsmId")) for hsm in active]
    if expected_hsm_id in ids or not ids:
        return expected_hsm_id
    if expected_hsm_id is None:
        return ids[0]
    pulumi.log.warn(
        f"CloudHSM cluster {cluster.cluster_id}: HSM {expected_hsm_id} is no longer "
        f"in the cluster; its CSR now comes from HSM {ids[0]}, which is the one "
        "signed. Set hsm_id to that HSM (or leave it unset) in the program."
    )
    return ids[0]


def _hsm_ip(cluster: Cluster, hsm_id: str | None) -> str | None:
    for hsm in cluster.hsms:
        if hsm.get("HsmId") == hsm_id:
            return str(hsm.get("EniIp") or "") or None
    return None


def _certificate_outputs(certificates: dict[str, str]) -> dict[str, str | None]:
    return {
        "cluster_csr_pem": certificates.get("ClusterCsr"),
        "hsm_certificate_pem": certificates.get("HsmCertificate"),
        "aws_hardware_certificate_pem": certificates.get("AwsHardwareCertificate"),
        "manufacturer_hardware_certificate_pem": certificates.get(
            "ManufacturerHardwareCertificate"
        ),
    }


def _check_roots(inputs: InputCheck) -> None:
    roots = ("aws_root_certificate_pem", "manufacturer_root_certificate_pem")
    given = [name for name in roots if inputs.inputs.get(name) is not None]
    if inputs.inputs.get("require_identity") is True and not given:
        inputs.fail(
            "require_identity",
            "require_identity is true but neither aws_root_certificate_pem nor "
            "manufacturer_root_certificate_pem is given. Download the AWS CloudHSM "
            "root certificate (and the manufacturer's), set them in the stack "
            "config, or set require_identity to false to skip the check.",
        )
    for name in given:
        value = inputs.inputs[name]
        if inputs.known(name) and "BEGIN CERTIFICATE" not in str(value):
            inputs.fail(name, f"{name} must be a PEM certificate, got {value!r:.60}.")


def _check_ca(inputs: InputCheck) -> None:
    """Fail now, not after the CSR wait, on a CA that cannot sign the cluster."""
    if not (inputs.known("ca_certificate_pem") and inputs.known("ca_private_key_pem")):
        return
    try:
        load_supplied_ca(
            inputs.inputs["ca_certificate_pem"], inputs.inputs["ca_private_key_pem"]
        )
    except CertificateError as error:
        inputs.fail("ca_certificate_pem", str(error))


def _note_unexpected_aws_root(aws_root_pem: str) -> None:
    fingerprint = fingerprint_sha256(_root(aws_root_pem))
    if fingerprint != AWS_ROOT_G1_FINGERPRINT:
        pulumi.log.warn(
            f"The AWS root certificate given has SHA-256 fingerprint {fingerprint}, "
            f"not that of AWS CloudHSM Root G1 ({AWS_ROOT_G1_FINGERPRINT}). Expected "
            "in a rehearsal; against AWS, check where the root file came from."
        )


def _load_csr(pem: str) -> x509.CertificateSigningRequest:
    try:
        return x509.load_pem_x509_csr(pem.encode())
    except ValueError as error:
        raise CertificateError(
            f"The cluster CSR is not a PEM certificate signing request ({error}). "
            "Compare it with `aws cloudhsmv2 describe-clusters`."
        ) from error


def _certificate(certificates: dict[str, str], name: str) -> x509.Certificate:
    pem = certificates.get(name)
    if not pem:
        raise IdentityVerificationError(
            f"The cluster shows no {name}, so the HSM's identity cannot be checked. "
            "Wait until the first HSM is ACTIVE, or set require_identity to false."
        )
    return x509.load_pem_x509_certificate(pem.encode())


def _root(pem: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError as error:
        raise IdentityVerificationError(
            f"A root certificate given for identity checks is not PEM ({error}). "
            "Give the root certificate file as downloaded from the vendor."
        ) from error


def _require_issued(
    certificate: x509.Certificate, issuer: x509.Certificate, name: str, by: str
) -> None:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature) as error:
        raise IdentityVerificationError(
            f"HSM identity check failed: the {name} "
            f"({certificate.subject.rfc4514_string()}) is not issued by the {by} "
            f"({issuer.subject.rfc4514_string()}): "
            f"{error or 'bad signature'}. Do not initialize this cluster; check the "
            "root certificates given, and ask AWS Support if they are right."
        ) from error


def _require_csr_from_hsm(
    csr: x509.CertificateSigningRequest, hsm: x509.Certificate
) -> None:
    if not csr.is_signature_valid:
        raise IdentityVerificationError(
            "HSM identity check failed: the cluster CSR's signature is not valid. "
            "Do not initialize this cluster; ask AWS Support."
        )
    if csr.public_key() != hsm.public_key():
        raise IdentityVerificationError(
            "HSM identity check failed: the cluster CSR's public key differs from "
            "the HsmCertificate's, so the CSR was not made by this HSM. Do not "
            "initialize this cluster; ask AWS Support."
        )


@dataclass
class ClusterCsrSigningArgs:
    cluster_id: pulumi.Input[str]
    ca_certificate_pem: pulumi.Input[str]
    ca_private_key_pem: pulumi.Input[str]
    hsm_id: pulumi.Input[str] | None = None
    region: pulumi.Input[str] | None = None
    aws_root_certificate_pem: pulumi.Input[str] | None = None
    manufacturer_root_certificate_pem: pulumi.Input[str] | None = None
    require_identity: pulumi.Input[bool] = True
    validity_days: pulumi.Input[int] = 3650
    timeout_seconds: pulumi.Input[int] = 3600


class ClusterCsrSigning(pulumi.dynamic.Resource, name="ClusterCsrSigning"):
    """The cluster CSR, signed by the customer CA, and the HSM certificates."""

    cluster_id: pulumi.Output[str]
    hsm_id: pulumi.Output[str]
    cluster_csr_pem: pulumi.Output[str]
    hsm_certificate_pem: pulumi.Output[str]
    aws_hardware_certificate_pem: pulumi.Output[str]
    manufacturer_hardware_certificate_pem: pulumi.Output[str]
    signed_certificate_pem: pulumi.Output[str]
    identity_verified: pulumi.Output[bool]
    signed_hsm_id: pulumi.Output[str]
    signed_hsm_ip: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: ClusterCsrSigningArgs,
        opts: ResourceOptions | None = None,
    ) -> None:
        secret = ResourceOptions(additional_secret_outputs=["ca_private_key_pem"])
        super().__init__(
            ClusterCsrSigningProvider(),
            resource_name,
            {**input_props(args), **dict.fromkeys(OUTPUTS)},
            ResourceOptions.merge(opts, secret),
        )
