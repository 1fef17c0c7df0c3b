"""Builders for emulator tests: a network, an initialized CloudHSM cluster signed
by a test CA, an admin instance online in SSM, all through boto3 over HTTP."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from rehearsal.emulator import Emulator

SSM_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
CLIENT_USER_DATA = (
    "#!/bin/bash\n"
    "dnf install -y ./cloudhsm-cli-latest.amzn2023.x86_64.rpm\n"
    "# installs /opt/cloudhsm/bin/cloudhsm-cli and configure-cli\n"
)
EC2_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@dataclass(frozen=True)
class TestCa:
    """A self-signed RSA 2048 root, as the operator's customer CA."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def sign_csr(self, csr_pem: str) -> str:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(self.certificate.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .sign(self.private_key, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM).decode()


def make_test_ca(common_name: str = "fips-keystore test CA") -> TestCa:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False
        )
        .sign(key, hashes.SHA256())
    )
    return TestCa(certificate, key)


@dataclass
class ClusterSetup:
    """What the builders made; the tests read ids and IPs from here."""

    emulator: Emulator
    ca: TestCa
    subnet_ids: list[str]
    cluster_id: str = ""
    hsm_ids: list[str] = field(default_factory=list)
    instance_id: str = ""

    def wait(self, seconds: float) -> None:
        self.emulator.clock.advance(seconds)

    def hsm_ips(self) -> list[str]:
        cluster = describe_cluster(self.cluster_id)
        return [h["EniIp"] for h in cluster["Hsms"]]


def make_network() -> tuple[str, list[str]]:
    """A VPC with one private subnet in each of two AZs."""
    ec2 = boto3.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet_ids = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=az)["Subnet"][
            "SubnetId"
        ]
        for cidr, az in (("10.20.1.0/24", "us-east-1a"), ("10.20.2.0/24", "us-east-1b"))
    ]
    return vpc_id, subnet_ids


def describe_cluster(cluster_id: str) -> dict:
    clusters = boto3.client("cloudhsmv2").describe_clusters(
        Filters={"clusterIds": [cluster_id]}
    )["Clusters"]
    return dict(clusters[0])


def create_cluster(emulator: Emulator) -> ClusterSetup:
    """A cluster with its first HSM ACTIVE, still UNINITIALIZED."""
    _vpc_id, subnet_ids = make_network()
    setup = ClusterSetup(emulator, make_test_ca(), subnet_ids)
    hsm_api = boto3.client("cloudhsmv2")
    setup.cluster_id = hsm_api.create_cluster(
        HsmType="hsm2m.medium", SubnetIds=subnet_ids, Mode="FIPS"
    )["Cluster"]["ClusterId"]
    setup.wait(emulator.profile.cluster_create)
    add_hsm(setup, "us-east-1a")
    return setup


def add_hsm(setup: ClusterSetup, availability_zone: str) -> str:
    """Create an HSM and let it become ACTIVE."""
    hsm_id = boto3.client("cloudhsmv2").create_hsm(
        ClusterId=setup.cluster_id, AvailabilityZone=availability_zone
    )["Hsm"]["HsmId"]
    setup.hsm_ids.append(hsm_id)
    setup.wait(setup.emulator.profile.hsm_create)
    return str(hsm_id)


def initialize_cluster(setup: ClusterSetup) -> None:
    """Sign the cluster CSR with the test CA and initialize the cluster."""
    csr_pem = describe_cluster(setup.cluster_id)["Certificates"]["ClusterCsr"]
    boto3.client("cloudhsmv2").initialize_cluster(
        ClusterId=setup.cluster_id,
        SignedCert=setup.ca.sign_csr(csr_pem),
        TrustAnchor=setup.ca.pem,
    )
    setup.wait(setup.emulator.profile.cluster_initialize)


def launch_instance(
    role_name: str,
    policy_arn: str | None = SSM_POLICY,
    user_data: str = CLIENT_USER_DATA,
    subnet_id: str | None = None,
) -> str:
    """Launch an instance whose role carries `policy_arn` (None: no policy)."""
    iam = boto3.client("iam")
    iam.create_role(
        RoleName=role_name, AssumeRolePolicyDocument=json.dumps(EC2_TRUST_POLICY)
    )
    if policy_arn is not None:
        iam.attach_role_policy(RoleName=role_name, PolicyArn=policy_arn)
    iam.create_instance_profile(InstanceProfileName=role_name)
    iam.add_role_to_instance_profile(InstanceProfileName=role_name, RoleName=role_name)

    placement = {"SubnetId": subnet_id} if subnet_id else {}
    reservation = boto3.client("ec2").run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        UserData=user_data,
        IamInstanceProfile={"Name": role_name},
        **placement,
    )
    return str(reservation["Instances"][0]["InstanceId"])


def launch_admin_instance(setup: ClusterSetup, role_name: str = "admin-client") -> str:
    """An instance in the first subnet whose role lets it use SSM, online."""
    setup.instance_id = launch_instance(role_name, subnet_id=setup.subnet_ids[0])
    profile = setup.emulator.profile
    setup.wait(profile.instance_ssm_online + profile.client_install)
    return setup.instance_id


def run_script(setup: ClusterSetup, *commands: str) -> dict:
    """Run a script on the admin instance and return the finished invocation."""
    ssm = boto3.client("ssm")
    command_id = ssm.send_command(
        InstanceIds=[setup.instance_id],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": list(commands)},
    )["Command"]["CommandId"]
    setup.wait(setup.emulator.profile.ssm_command)
    return dict(
        ssm.get_command_invocation(CommandId=command_id, InstanceId=setup.instance_id)
    )
