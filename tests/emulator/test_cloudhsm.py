"""CloudHSM v2 in the emulator, driven through boto3 over HTTP."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from rehearsal.emulator import Emulator, FaultPlan

INVALID = "CloudHsmInvalidRequestException"
NOT_FOUND = "CloudHsmResourceNotFoundException"


@pytest.fixture(autouse=True)
def no_default_amis(monkeypatch: pytest.MonkeyPatch) -> None:
    # These tests never launch instances; loading moto's 1,300 AMIs into each
    # fresh EC2 backend would take most of their run time.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


@functools.cache
def ca_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def ca_certificate(
    key: rsa.RSAPrivateKey, ca: bool = True, signer: rsa.RSAPrivateKey | None = None
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Customer CA")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signer or key, hashes.SHA256())
    )


def sign_csr(csr_pem: str, anchor: x509.Certificate, key: rsa.RSAPrivateKey) -> str:
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(anchor.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return pem(certificate)


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


def subnets(cidr: str = "10.0.0.0/16", azs: str = "abc") -> list[str]:
    ec2 = boto3.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    prefix = cidr.rsplit(".", 2)[0]
    return [
        ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=f"{prefix}.{index}.0/24",
            AvailabilityZone=f"us-east-1{az}",
        )["Subnet"]["SubnetId"]
        for index, az in enumerate(azs, start=1)
    ]


def hsm_client() -> Any:
    return boto3.client("cloudhsmv2")


def create_cluster(subnet_ids: list[str], **extra: Any) -> dict[str, Any]:
    return hsm_client().create_cluster(
        HsmType="hsm2m.medium", Mode="FIPS", SubnetIds=subnet_ids, **extra
    )["Cluster"]


def describe(cluster_id: str) -> dict[str, Any]:
    clusters = hsm_client().describe_clusters(Filters={"clusterIds": [cluster_id]})
    return clusters["Clusters"][0]


def uninitialized_cluster(emulator: Emulator) -> dict[str, Any]:
    """A cluster whose first HSM is ACTIVE, so its CSR can be read."""
    cluster_id = create_cluster(subnets())["ClusterId"]
    emulator.clock.advance(emulator.profile.cluster_create)
    hsm_client().create_hsm(ClusterId=cluster_id, AvailabilityZone="us-east-1a")
    emulator.clock.advance(emulator.profile.hsm_create)
    return describe(cluster_id)


def initialize(emulator: Emulator, cluster: dict[str, Any]) -> str:
    anchor = ca_certificate(ca_key())
    signed = sign_csr(cluster["Certificates"]["ClusterCsr"], anchor, ca_key())
    hsm_client().initialize_cluster(
        ClusterId=cluster["ClusterId"], SignedCert=signed, TrustAnchor=pem(anchor)
    )
    emulator.clock.advance(emulator.profile.cluster_initialize)
    return signed


def active_cluster(emulator: Emulator) -> dict[str, Any]:
    cluster = uninitialized_cluster(emulator)
    initialize(emulator, cluster)
    emulator.cloudhsm.hsm_simulator(cluster["ClusterId"]).activate("admin-password")
    return describe(cluster["ClusterId"])


def test_create_cluster_becomes_uninitialized_after_cluster_create(
    emulator: Emulator,
) -> None:
    cluster = create_cluster(subnets())

    state_at_start = describe(cluster["ClusterId"])["State"]
    emulator.clock.advance(emulator.profile.cluster_create)

    assert re.fullmatch(r"cluster-[a-z2-7]{11}", cluster["ClusterId"])
    assert (cluster["State"], state_at_start) == ("CREATE_IN_PROGRESS",) * 2
    assert describe(cluster["ClusterId"])["State"] == "UNINITIALIZED"
    assert cluster["Mode"] == "FIPS"
    assert cluster["BackupRetentionPolicy"] == {"Type": "DAYS", "Value": "90"}


def test_create_cluster_makes_security_group_with_self_ingress(
    emulator: Emulator,
) -> None:
    cluster = create_cluster(subnets())

    group = boto3.client("ec2").describe_security_groups(
        GroupIds=[cluster["SecurityGroup"]]
    )["SecurityGroups"][0]

    assert group["GroupName"] == f"cloudhsm-{cluster['ClusterId']}-sg"
    assert group["VpcId"] == cluster["VpcId"]
    [rule] = group["IpPermissions"]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 2223, 2225)
    assert rule["UserIdGroupPairs"][0]["GroupId"] == group["GroupId"]


def test_create_cluster_hsm1_refused(emulator: Emulator) -> None:
    with pytest.raises(ClientError) as caught:
        hsm_client().create_cluster(HsmType="hsm1.medium", SubnetIds=subnets())

    assert error_of(caught) == (
        INVALID,
        "HsmType hsm1.medium can no longer be used for new clusters; use hsm2m.medium.",
    )


def test_create_cluster_without_mode_refused(emulator: Emulator) -> None:
    with pytest.raises(ClientError) as caught:
        hsm_client().create_cluster(HsmType="hsm2m.medium", SubnetIds=subnets())

    code, message = error_of(caught)
    assert code == INVALID
    assert message.startswith("Mode None is not valid for HsmType hsm2m.medium")


def test_create_cluster_unknown_subnet_refused(emulator: Emulator) -> None:
    with pytest.raises(ClientError) as caught:
        create_cluster(["subnet-0123456789abcdef0"])

    assert error_of(caught) == (
        INVALID,
        "Subnet subnet-0123456789abcdef0 does not exist in this account and Region.",
    )


def test_create_cluster_two_subnets_in_one_az_refused(emulator: Emulator) -> None:
    first, second = subnets(azs="aa")

    with pytest.raises(ClientError) as caught:
        create_cluster([first, second])

    code, message = error_of(caught)
    assert code == INVALID
    assert f"Subnets {first} and {second} are both in us-east-1a" in message


def test_create_cluster_subnets_in_two_vpcs_refused(emulator: Emulator) -> None:
    [first] = subnets("10.0.0.0/16", azs="a")
    [second] = subnets("10.1.0.0/16", azs="b")

    with pytest.raises(ClientError) as caught:
        create_cluster([first, second])

    code, message = error_of(caught)
    assert code == INVALID
    assert message.endswith("all must be in one VPC.")


def test_create_cluster_bad_retention_refused(emulator: Emulator) -> None:
    with pytest.raises(ClientError) as caught:
        create_cluster(subnets(), BackupRetentionPolicy={"Type": "DAYS", "Value": "3"})

    code, message = error_of(caught)
    assert code == INVALID
    assert message.endswith("use Type DAYS and a Value from 7 to 379.")


def test_create_hsm_makes_eni_and_becomes_active(emulator: Emulator) -> None:
    cluster_id = create_cluster(subnets())["ClusterId"]
    emulator.clock.advance(2)

    hsm = hsm_client().create_hsm(
        ClusterId=cluster_id, AvailabilityZone="us-east-1b", IpAddress="10.0.2.10"
    )["Hsm"]
    eni = boto3.client("ec2").describe_network_interfaces(
        NetworkInterfaceIds=[hsm["EniId"]]
    )["NetworkInterfaces"][0]
    emulator.clock.advance(emulator.profile.hsm_create)

    assert re.fullmatch(r"hsm-[a-z2-7]{11}", hsm["HsmId"])
    assert (hsm["State"], hsm["EniIp"]) == ("CREATE_IN_PROGRESS", "10.0.2.10")
    assert eni["PrivateIpAddress"] == "10.0.2.10"
    assert eni["SubnetId"] == hsm["SubnetId"]
    assert describe(cluster_id)["Hsms"][0]["State"] == "ACTIVE"
    assert emulator.cloudhsm.cluster_for_ip("10.0.2.10") == cluster_id


def test_create_hsm_az_without_subnet_refused(emulator: Emulator) -> None:
    cluster_id = create_cluster(subnets(azs="ab"))["ClusterId"]
    emulator.clock.advance(2)

    with pytest.raises(ClientError) as caught:
        hsm_client().create_hsm(ClusterId=cluster_id, AvailabilityZone="us-east-1d")

    assert error_of(caught) == (
        INVALID,
        f"Availability Zone us-east-1d has no subnet in cluster {cluster_id}; "
        "use one of us-east-1a, us-east-1b.",
    )


def test_create_hsm_ip_outside_subnet_refused(emulator: Emulator) -> None:
    cluster_id = create_cluster(subnets())["ClusterId"]
    emulator.clock.advance(2)

    with pytest.raises(ClientError) as caught:
        hsm_client().create_hsm(
            ClusterId=cluster_id, AvailabilityZone="us-east-1a", IpAddress="10.0.9.9"
        )

    code, message = error_of(caught)
    assert code == INVALID
    assert message.startswith("IpAddress 10.0.9.9 is not in subnet")


def test_create_hsm_in_deleted_subnet_refused(emulator: Emulator) -> None:
    first, second = subnets(azs="ab")
    cluster_id = create_cluster([first, second])["ClusterId"]
    emulator.clock.advance(emulator.profile.cluster_create)
    boto3.client("ec2").delete_subnet(SubnetId=second)

    with pytest.raises(ClientError) as caught:
        hsm_client().create_hsm(ClusterId=cluster_id, AvailabilityZone="us-east-1b")

    code, message = error_of(caught)
    assert code == INVALID
    assert message.startswith(f"Subnet {second} of cluster {cluster_id} in us-east-1b")


def test_create_hsm_unknown_cluster_refused(emulator: Emulator) -> None:
    with pytest.raises(ClientError) as caught:
        hsm_client().create_hsm(
            ClusterId="cluster-aaaaaaaaaaa", AvailabilityZone="us-east-1a"
        )

    code, message = error_of(caught)
    assert code == NOT_FOUND
    assert message.startswith("Cluster cluster-aaaaaaaaaaa not found")


def test_create_hsm_second_before_activation_refused(emulator: Emulator) -> None:
    cluster = uninitialized_cluster(emulator)

    with pytest.raises(ClientError) as caught:
        hsm_client().create_hsm(
            ClusterId=cluster["ClusterId"], AvailabilityZone="us-east-1b"
        )

    code, message = error_of(caught)
    assert code == INVALID
    assert "already contains an HSM but has not yet been fully activated" in message


def test_describe_clusters_certificates_appear_when_first_hsm_active(
    emulator: Emulator,
) -> None:
    cluster_id = create_cluster(subnets())["ClusterId"]
    emulator.clock.advance(2)
    hsm_client().create_hsm(ClusterId=cluster_id, AvailabilityZone="us-east-1a")

    while_creating = describe(cluster_id)["Certificates"]
    emulator.clock.advance(emulator.profile.hsm_create)
    certificates = describe(cluster_id)["Certificates"]

    assert while_creating == {}
    assert sorted(certificates) == [
        "AwsHardwareCertificate",
        "ClusterCsr",
        "HsmCertificate",
        "ManufacturerHardwareCertificate",
    ]


def test_describe_clusters_csr_carries_hsm_certificate_key(
    emulator: Emulator,
) -> None:
    certificates = uninitialized_cluster(emulator)["Certificates"]

    csr = x509.load_pem_x509_csr(certificates["ClusterCsr"].encode())
    hsm_certificate = x509.load_pem_x509_certificate(
        certificates["HsmCertificate"].encode()
    )

    key = csr.public_key()
    assert csr.is_signature_valid
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == 2048
    assert key == hsm_certificate.public_key()


@pytest.mark.parametrize(
    ("hardware", "root"),
    [
        ("AwsHardwareCertificate", "aws_root_pem"),
        ("ManufacturerHardwareCertificate", "manufacturer_root_pem"),
    ],
)
def test_describe_clusters_hsm_certificate_chains_to_root(
    emulator: Emulator, hardware: str, root: str
) -> None:
    certificates = uninitialized_cluster(emulator)["Certificates"]

    hsm_certificate = x509.load_pem_x509_certificate(
        certificates["HsmCertificate"].encode()
    )
    hardware_certificate = x509.load_pem_x509_certificate(
        certificates[hardware].encode()
    )
    root_certificate = x509.load_pem_x509_certificate(
        getattr(emulator.cloudhsm, root).encode()
    )

    hsm_certificate.verify_directly_issued_by(hardware_certificate)
    hardware_certificate.verify_directly_issued_by(root_certificate)
    root_certificate.verify_directly_issued_by(root_certificate)
    assert emulator.cloudhsm.aws_root_pem != emulator.cloudhsm.manufacturer_root_pem


def test_describe_clusters_pages_with_next_token(emulator: Emulator) -> None:
    subnet_ids = subnets()
    created = [create_cluster(subnet_ids)["ClusterId"] for _ in range(3)]

    first = hsm_client().describe_clusters(MaxResults=2)
    second = hsm_client().describe_clusters(MaxResults=2, NextToken=first["NextToken"])

    assert [c["ClusterId"] for c in first["Clusters"]] == created[:2]
    assert [c["ClusterId"] for c in second["Clusters"]] == created[2:]
    assert "NextToken" not in second


def test_describe_clusters_max_results_over_25_refused(emulator: Emulator) -> None:
    with pytest.raises(ClientError) as caught:
        hsm_client().describe_clusters(MaxResults=26)

    assert error_of(caught) == (INVALID, "MaxResults 26 is not valid; use 1 to 25.")


def test_describe_clusters_unknown_filter_refused(emulator: Emulator) -> None:
    with pytest.raises(ClientError) as caught:
        hsm_client().describe_clusters(Filters={"names": ["x"]})

    code, message = error_of(caught)
    assert code == INVALID
    assert message.startswith("Filter 'names' is not supported")


def test_describe_clusters_filters_by_state(emulator: Emulator) -> None:
    subnet_ids = subnets()
    early = create_cluster(subnet_ids)
    emulator.clock.advance(emulator.profile.cluster_create)
    late = create_cluster(subnet_ids)

    by_state = hsm_client().describe_clusters(Filters={"states": ["UNINITIALIZED"]})

    assert [c["ClusterId"] for c in by_state["Clusters"]] == [early["ClusterId"]]
    assert late["State"] == "CREATE_IN_PROGRESS"


def test_describe_clusters_filters_by_vpc(emulator: Emulator) -> None:
    first = create_cluster(subnets("10.0.0.0/16"))
    second = create_cluster(subnets("10.1.0.0/16"))

    by_vpc = hsm_client().describe_clusters(Filters={"vpcIds": [second["VpcId"]]})

    assert first["VpcId"] != second["VpcId"]
    assert [c["ClusterId"] for c in by_vpc["Clusters"]] == [second["ClusterId"]]


def test_describe_clusters_without_max_results_pages_by_25(
    emulator: Emulator,
) -> None:
    # The emulator does not enforce AWS's per-Region cluster quota (4 by
    # default), so 26 clusters fit in one VPC.
    subnet_ids = subnets()
    created = [create_cluster(subnet_ids)["ClusterId"] for _ in range(26)]

    first = hsm_client().describe_clusters()
    second = hsm_client().describe_clusters(NextToken=first["NextToken"])

    assert [c["ClusterId"] for c in first["Clusters"]] == created[:25]
    assert [c["ClusterId"] for c in second["Clusters"]] == created[25:]
    assert "NextToken" not in second


def test_initialize_cluster_moves_to_initialized(emulator: Emulator) -> None:
    cluster = uninitialized_cluster(emulator)
    anchor = ca_certificate(ca_key())
    signed = sign_csr(cluster["Certificates"]["ClusterCsr"], anchor, ca_key())

    answer = hsm_client().initialize_cluster(
        ClusterId=cluster["ClusterId"], SignedCert=signed, TrustAnchor=pem(anchor)
    )
    in_progress = describe(cluster["ClusterId"])
    emulator.clock.advance(emulator.profile.cluster_initialize)
    done = describe(cluster["ClusterId"])

    assert answer["State"] == "INITIALIZE_IN_PROGRESS"
    assert (in_progress["State"], in_progress["Certificates"]) == (
        "INITIALIZE_IN_PROGRESS",
        {},
    )
    assert done["State"] == "INITIALIZED"
    assert done["Certificates"] == {"ClusterCertificate": signed}


def test_initialize_cluster_twice_refused(emulator: Emulator) -> None:
    cluster = uninitialized_cluster(emulator)
    initialize(emulator, cluster)

    with pytest.raises(ClientError) as caught:
        initialize(emulator, cluster)

    assert error_of(caught) == (
        INVALID,
        f"Cluster {cluster['ClusterId']} is in state INITIALIZED; InitializeCluster "
        "needs an UNINITIALIZED cluster.",
    )


def test_initialize_cluster_without_active_hsm_refused(emulator: Emulator) -> None:
    cluster_id = create_cluster(subnets())["ClusterId"]
    emulator.clock.advance(2)
    anchor = ca_certificate(ca_key())

    with pytest.raises(ClientError) as caught:
        hsm_client().initialize_cluster(
            ClusterId=cluster_id, SignedCert=pem(anchor), TrustAnchor=pem(anchor)
        )

    code, message = error_of(caught)
    assert code == INVALID
    assert message.endswith("Create an HSM and wait until it is ACTIVE.")


def initialize_error(
    cluster: dict[str, Any], signed: str, anchor: str
) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        hsm_client().initialize_cluster(
            ClusterId=cluster["ClusterId"], SignedCert=signed, TrustAnchor=anchor
        )
    return error_of(caught)


def test_initialize_cluster_certificate_for_other_key_refused(
    emulator: Emulator,
) -> None:
    cluster = uninitialized_cluster(emulator)
    anchor = ca_certificate(ca_key())

    code, message = initialize_error(cluster, pem(anchor), pem(anchor))

    assert code == INVALID
    assert message.startswith("SignedCert does not carry the public key of the")


def test_initialize_cluster_signed_by_other_ca_refused(emulator: Emulator) -> None:
    cluster = uninitialized_cluster(emulator)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    anchor = ca_certificate(ca_key())
    signed = sign_csr(cluster["Certificates"]["ClusterCsr"], anchor, other_key)

    code, message = initialize_error(cluster, signed, pem(anchor))

    assert code == INVALID
    assert message.startswith("SignedCert was not issued and signed by TrustAnchor")


def test_initialize_cluster_anchor_without_ca_flag_refused(
    emulator: Emulator,
) -> None:
    cluster = uninitialized_cluster(emulator)
    anchor = ca_certificate(ca_key(), ca=False)
    signed = sign_csr(cluster["Certificates"]["ClusterCsr"], anchor, ca_key())

    code, message = initialize_error(cluster, signed, pem(anchor))

    assert code == INVALID
    assert message.startswith("TrustAnchor lacks basicConstraints CA:TRUE")


@pytest.mark.parametrize("bits", [2048, 4096])
def test_initialize_cluster_anchor_key_size_accepted(
    emulator: Emulator, bits: int
) -> None:
    cluster = uninitialized_cluster(emulator)
    anchor = ca_certificate(ca_key(bits))
    signed = sign_csr(cluster["Certificates"]["ClusterCsr"], anchor, ca_key(bits))

    reply = hsm_client().initialize_cluster(
        ClusterId=cluster["ClusterId"], SignedCert=signed, TrustAnchor=pem(anchor)
    )

    assert reply["State"] == "INITIALIZE_IN_PROGRESS"


@pytest.mark.parametrize("bits", [1024, 3072])
def test_initialize_cluster_anchor_key_size_refused(
    emulator: Emulator, bits: int
) -> None:
    cluster = uninitialized_cluster(emulator)
    anchor = ca_certificate(ca_key(bits))
    signed = sign_csr(cluster["Certificates"]["ClusterCsr"], anchor, ca_key(bits))

    code, message = initialize_error(cluster, signed, pem(anchor))

    assert (code, message) == (
        INVALID,
        f"TrustAnchor key is {bits}-bit RSAPublicKey; it must be RSA 2048 or 4096.",
    )


def test_initialize_cluster_anchor_not_self_signed_refused(
    emulator: Emulator,
) -> None:
    cluster = uninitialized_cluster(emulator)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    anchor = ca_certificate(ca_key(), signer=other_key)
    signed = sign_csr(cluster["Certificates"]["ClusterCsr"], anchor, ca_key())

    code, message = initialize_error(cluster, signed, pem(anchor))

    assert code == INVALID
    assert message.startswith("TrustAnchor is not self-signed")


def test_initialize_cluster_not_pem_refused(emulator: Emulator) -> None:
    cluster = uninitialized_cluster(emulator)

    code, message = initialize_error(cluster, "bm90IGEgY2VydA==", "x")

    assert code == INVALID
    assert message.startswith("SignedCert is not a PEM-encoded X.509 certificate")


def test_initialize_cluster_oversized_certificate_refused(
    emulator: Emulator,
) -> None:
    cluster = uninitialized_cluster(emulator)

    code, message = initialize_error(cluster, "A" * 20001, "A")

    assert (code, message) == (
        INVALID,
        "SignedCert is 20001 characters long; the limit is 20000.",
    )


def csr_key(cluster: dict[str, Any]) -> Any:
    csr = x509.load_pem_x509_csr(cluster["Certificates"]["ClusterCsr"].encode())
    return csr.public_key()


def hsm_certificate_key(cluster: dict[str, Any]) -> Any:
    pem_text = cluster["Certificates"]["HsmCertificate"].encode()
    return x509.load_pem_x509_certificate(pem_text).public_key()


def test_replace_first_hsm_fault_keeps_hsm_and_changes_its_key(
    emulator: Emulator,
) -> None:
    emulator.faults = FaultPlan(replace_first_hsm=True)
    cluster_id = create_cluster(subnets())["ClusterId"]
    emulator.clock.advance(emulator.profile.cluster_create)
    created = hsm_client().create_hsm(
        ClusterId=cluster_id, AvailabilityZone="us-east-1a"
    )["Hsm"]
    emulator.clock.advance(emulator.profile.hsm_create)

    first_read = describe(cluster_id)
    second_read = describe(cluster_id)

    [hsm] = first_read["Hsms"]
    model_hsm = emulator.cloudhsm.cluster(cluster_id).hsms[0]
    assert model_hsm.retired_identity is not None
    retired_key = model_hsm.retired_identity.identity_key.public_key()
    assert (hsm["HsmId"], hsm["EniId"], hsm["EniIp"], hsm["State"]) == (
        created["HsmId"],
        created["EniId"],
        created["EniIp"],
        "ACTIVE",
    )
    assert csr_key(first_read) != retired_key
    assert csr_key(first_read) == hsm_certificate_key(first_read)
    assert second_read["Certificates"] == first_read["Certificates"]


def test_replace_first_hsm_fault_after_csr_read_changes_csr_once(
    emulator: Emulator,
) -> None:
    before = uninitialized_cluster(emulator)
    emulator.faults = FaultPlan(replace_first_hsm=True)

    replaced = describe(before["ClusterId"])
    later = describe(before["ClusterId"])

    assert replaced["Hsms"] == before["Hsms"]
    assert csr_key(replaced) != csr_key(before)
    assert hsm_certificate_key(replaced) == csr_key(replaced)
    assert (
        replaced["Certificates"]["HsmCertificate"]
        != before["Certificates"]["HsmCertificate"]
    )
    assert later["Certificates"] == replaced["Certificates"]


def test_initialize_cluster_certificate_for_replaced_key_refused(
    emulator: Emulator,
) -> None:
    stale = uninitialized_cluster(emulator)
    anchor = ca_certificate(ca_key())
    stale_signed = sign_csr(stale["Certificates"]["ClusterCsr"], anchor, ca_key())
    emulator.faults = FaultPlan(replace_first_hsm=True)
    current = describe(stale["ClusterId"])

    code, message = initialize_error(current, stale_signed, pem(anchor))
    signed = sign_csr(current["Certificates"]["ClusterCsr"], anchor, ca_key())
    reply = hsm_client().initialize_cluster(
        ClusterId=current["ClusterId"], SignedCert=signed, TrustAnchor=pem(anchor)
    )

    assert (code, message) == (
        INVALID,
        "SignedCert does not carry the public key of the cluster CSR. Sign the "
        "ClusterCsr currently shown by DescribeClusters (the HSM may have been "
        "replaced since you read it).",
    )
    assert reply["State"] == "INITIALIZE_IN_PROGRESS"


def test_stuck_fault_freezes_cluster_in_initialize_in_progress(
    emulator: Emulator,
) -> None:
    emulator.faults = FaultPlan(stuck={"cluster": "INITIALIZE_IN_PROGRESS"})
    cluster = uninitialized_cluster(emulator)

    initialize(emulator, cluster)
    emulator.clock.advance(3600)
    stuck = describe(cluster["ClusterId"])["State"]
    emulator.faults = FaultPlan()

    assert stuck == "INITIALIZE_IN_PROGRESS"
    assert describe(cluster["ClusterId"])["State"] == "INITIALIZED"


def test_stuck_fault_freezes_hsm_creation(emulator: Emulator) -> None:
    emulator.faults = FaultPlan(stuck={"hsm": "CREATE_IN_PROGRESS"})

    cluster = uninitialized_cluster(emulator)

    assert cluster["Hsms"][0]["State"] == "CREATE_IN_PROGRESS"
    assert cluster["Certificates"] == {}


def test_activation_makes_cluster_active(emulator: Emulator) -> None:
    cluster = active_cluster(emulator)

    assert cluster["State"] == "ACTIVE"


def test_create_hsm_on_active_cluster_clones_users(emulator: Emulator) -> None:
    cluster = active_cluster(emulator)
    simulator = emulator.cloudhsm.hsm_simulator(cluster["ClusterId"])
    simulator.create_user("kmsuser", "crypto-user", "kmsPassword1")

    second = hsm_client().create_hsm(
        ClusterId=cluster["ClusterId"], AvailabilityZone="us-east-1b"
    )["Hsm"]
    simulator.create_user("latecomer", "crypto-user", "latePassword1")
    emulator.clock.advance(emulator.profile.hsm_create)
    coverage = {u["username"]: u["cluster-coverage"] for u in simulator.list_users()}

    assert "kmsuser" in simulator.users_on(second["HsmId"])
    assert coverage["kmsuser"] == "full"
    assert coverage["latecomer"] == "partial"


def test_delete_cluster_with_hsms_refused(emulator: Emulator) -> None:
    cluster = uninitialized_cluster(emulator)

    with pytest.raises(ClientError) as caught:
        hsm_client().delete_cluster(ClusterId=cluster["ClusterId"])

    code, message = error_of(caught)
    assert code == INVALID
    assert message.endswith("Delete them with DeleteHsm and wait until they are gone.")


def test_delete_hsm_by_eni_ip_removes_hsm_and_eni(emulator: Emulator) -> None:
    cluster = uninitialized_cluster(emulator)
    [hsm] = cluster["Hsms"]

    answer = hsm_client().delete_hsm(ClusterId=cluster["ClusterId"], EniIp=hsm["EniIp"])
    deleting = describe(cluster["ClusterId"])["Hsms"][0]["State"]
    emulator.clock.advance(emulator.profile.hsm_delete)

    assert answer["HsmId"] == hsm["HsmId"]
    assert deleting == "DELETE_IN_PROGRESS"
    assert describe(cluster["ClusterId"])["Hsms"] == []
    enis = boto3.client("ec2").describe_network_interfaces()["NetworkInterfaces"]
    assert hsm["EniId"] not in [eni["NetworkInterfaceId"] for eni in enis]


def test_delete_hsm_unknown_id_refused(emulator: Emulator) -> None:
    cluster = uninitialized_cluster(emulator)

    with pytest.raises(ClientError) as caught:
        hsm_client().delete_hsm(ClusterId=cluster["ClusterId"], HsmId="hsm-aaaaaaaaaaa")

    assert error_of(caught) == (
        NOT_FOUND,
        f"No HSM with HsmId hsm-aaaaaaaaaaa in cluster {cluster['ClusterId']}.",
    )


def test_modify_cluster_sets_backup_retention(emulator: Emulator) -> None:
    cluster_id = create_cluster(subnets())["ClusterId"]

    modified = hsm_client().modify_cluster(
        ClusterId=cluster_id, BackupRetentionPolicy={"Type": "DAYS", "Value": "30"}
    )["Cluster"]

    assert modified["BackupRetentionPolicy"] == {"Type": "DAYS", "Value": "30"}
    assert describe(cluster_id)["BackupRetentionPolicy"]["Value"] == "30"


def test_tag_resource_then_untag_lists_remaining(emulator: Emulator) -> None:
    cluster_id = create_cluster(subnets(), TagList=[{"Key": "stack", "Value": "dev"}])[
        "ClusterId"
    ]

    hsm_client().tag_resource(
        ResourceId=cluster_id, TagList=[{"Key": "owner", "Value": "kms"}]
    )
    hsm_client().untag_resource(ResourceId=cluster_id, TagKeyList=["stack"])

    tags = hsm_client().list_tags(ResourceId=cluster_id)["TagList"]
    assert tags == [{"Key": "owner", "Value": "kms"}]


def test_unemulated_operation_says_not_implemented(emulator: Emulator) -> None:
    with pytest.raises(ClientError) as caught:
        hsm_client().delete_backup(BackupId="backup-aaaaaaaaaaa")

    assert error_of(caught) == (
        INVALID,
        "DeleteBackup is not implemented by the emulator's CloudHSM.",
    )


def test_cluster_lifecycle_from_creation_to_restore(emulator: Emulator) -> None:
    cluster = active_cluster(emulator)
    cluster_id = cluster["ClusterId"]
    simulator = emulator.cloudhsm.hsm_simulator(cluster_id)
    simulator.create_user("kmsuser", "crypto-user", "kmsPassword1")
    hsm_client().create_hsm(ClusterId=cluster_id, AvailabilityZone="us-east-1b")
    emulator.clock.advance(emulator.profile.hsm_create)
    hsms = describe(cluster_id)["Hsms"]

    for hsm in hsms:
        hsm_client().delete_hsm(ClusterId=cluster_id, HsmId=hsm["HsmId"])
    emulator.clock.advance(emulator.profile.hsm_delete)
    hsm_client().delete_cluster(ClusterId=cluster_id)
    emulator.clock.advance(emulator.profile.cluster_delete)
    [backup] = hsm_client().describe_backups(Filters={"clusterIds": [cluster_id]})[
        "Backups"
    ]

    restored = create_cluster(
        list(cluster["SubnetMapping"].values()), SourceBackupId=backup["BackupId"]
    )
    emulator.clock.advance(emulator.profile.cluster_create)
    hsm = hsm_client().create_hsm(
        ClusterId=restored["ClusterId"], AvailabilityZone="us-east-1a"
    )["Hsm"]
    emulator.clock.advance(emulator.profile.hsm_create)
    restored_simulator = emulator.cloudhsm.hsm_simulator(restored["ClusterId"])

    assert [h["State"] for h in hsms] == ["ACTIVE", "ACTIVE"]
    assert describe(cluster_id)["State"] == "DELETED"
    assert backup["BackupState"] == "READY"
    assert restored["SourceBackupId"] == backup["BackupId"]
    assert describe(restored["ClusterId"])["State"] == "ACTIVE"
    assert "kmsuser" in restored_simulator.users_on(hsm["HsmId"])
    restored_simulator.login("kmsuser", "crypto-user", "kmsPassword1")


def test_delete_hsm_by_eni_id_completes_when_eni_already_gone(
    emulator: Emulator,
) -> None:
    cluster = uninitialized_cluster(emulator)
    [hsm] = cluster["Hsms"]
    boto3.client("ec2").delete_network_interface(NetworkInterfaceId=hsm["EniId"])

    hsm_client().delete_hsm(ClusterId=cluster["ClusterId"], EniId=hsm["EniId"])
    emulator.clock.advance(emulator.profile.hsm_delete)

    assert describe(cluster["ClusterId"])["Hsms"] == []
