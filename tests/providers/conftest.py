"""Fixtures that bring the emulator to each precondition of the provider chain.

Each fixture builds on the one before with boto3 and our own providers: an
admin instance that is SSM-online with the client installed, secrets, a
cluster with an ACTIVE first HSM, then signed, initialized, activated, with
`kmsuser`, with a second HSM, and a key store. Waits run on the emulator's
simulated clock (FIPS_KEYSTORE_CLOCK_URL is set by the `emulator` fixture).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from rehearsal.emulator import Emulator
from rehearsal.emulator.faults import FaultPlan
from tests.emulator._cloudhsm_setup import launch_instance
from tests.providers.results import outs_of

CLIENT_USER_DATA = (
    "#!/bin/bash\n"
    "dnf install -y ./cloudhsm-cli-latest.amzn2023.x86_64.rpm  # cloudhsm-cli\n"
)
ADMIN_PASSWORD = "AdminPassw0rd7"
KMSUSER_PASSWORD = "KmsUserPassw0rd9"


def set_faults(emulator: Emulator, **faults: Any) -> None:
    emulator.faults = FaultPlan.from_dict(faults, seed=emulator.seed)


def launch_admin_instance(
    user_data: str = CLIENT_USER_DATA, with_ssm_policy: bool = True
) -> str:
    """An instance whose role lets SSM manage it, running the client user data."""
    policy_arn = _ssm_policy_arn(boto3.client("iam")) if with_ssm_policy else None
    return launch_instance("fips-admin", policy_arn, user_data)


def _ssm_policy_arn(iam: Any) -> str:
    # A local policy of the same name: loading moto's AWS-managed policies
    # costs seconds per test, and the emulator matches the policy by name.
    policy = iam.create_policy(
        PolicyName="AmazonSSMManagedInstanceCore",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "ssm:*", "Resource": "*"}],
            }
        ),
    )
    return str(policy["Policy"]["Arn"])


@pytest.fixture
def admin_instance(emulator: Emulator) -> str:
    """A freshly launched admin instance (not yet online: providers wait)."""
    return launch_admin_instance()


@dataclass(frozen=True)
class Secrets:
    admin_arn: str
    kmsuser_arn: str


@pytest.fixture
def secrets(emulator: Emulator) -> Secrets:
    manager = boto3.client("secretsmanager")
    admin = manager.create_secret(Name="fips/admin", SecretString=ADMIN_PASSWORD)
    kmsuser = manager.create_secret(Name="fips/kmsuser", SecretString=KMSUSER_PASSWORD)
    return Secrets(admin_arn=admin["ARN"], kmsuser_arn=kmsuser["ARN"])


@pytest.fixture
def network(emulator: Emulator) -> dict[str, str]:
    """A VPC with one subnet in each of two Availability Zones."""
    ec2 = boto3.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = {}
    for index, zone in enumerate(("us-east-1a", "us-east-1b")):
        subnet = ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=f"10.0.{index}.0/24", AvailabilityZone=zone
        )
        subnets[zone] = subnet["Subnet"]["SubnetId"]
    return subnets


@pytest.fixture
def captured_output(
    capsys: pytest.CaptureFixture[str],
) -> Iterator[pytest.CaptureFixture[str]]:
    yield capsys


@dataclass
class Chain:
    """What the fixtures built so far: ids, addresses and provider outputs."""

    emulator: Emulator
    cluster_id: str
    hsm_id: str
    hsm_ip: str
    instance_id: str = ""
    secrets: Secrets | None = None
    ca: dict[str, Any] | None = None
    signing: dict[str, Any] | None = None
    hsm_ips: list[str] | None = None

    def describe(self) -> dict[str, Any]:
        reply = boto3.client("cloudhsmv2").describe_clusters(
            Filters={"clusterIds": [self.cluster_id]}
        )
        return dict(reply["Clusters"][0])

    def state(self) -> str:
        return str(self.describe()["State"])


def create_cluster(subnet_ids: list[str]) -> str:
    reply = boto3.client("cloudhsmv2").create_cluster(
        HsmType="hsm2m.medium", Mode="FIPS", SubnetIds=subnet_ids
    )
    return str(reply["Cluster"]["ClusterId"])


def add_hsm(emulator: Emulator, cluster_id: str, zone: str) -> dict[str, Any]:
    """Create an HSM and let the simulated clock pass until it is ACTIVE."""
    cloudhsm = boto3.client("cloudhsmv2")
    hsm = cloudhsm.create_hsm(ClusterId=cluster_id, AvailabilityZone=zone)["Hsm"]
    emulator.clock.advance(emulator.profile.hsm_create)
    return dict(hsm)


@pytest.fixture
def new_cluster(emulator: Emulator, network: dict[str, str]) -> Chain:
    """A cluster with its first HSM just requested (both still being created)."""
    cluster_id = create_cluster(list(network.values()))
    emulator.clock.advance(emulator.profile.cluster_create)
    hsm = boto3.client("cloudhsmv2").create_hsm(
        ClusterId=cluster_id, AvailabilityZone="us-east-1a"
    )["Hsm"]
    return Chain(emulator, cluster_id, hsm["HsmId"], hsm["EniIp"])


@pytest.fixture
def customer_ca() -> dict[str, Any]:
    from providers.customer_ca import CustomerCaProvider

    props = {
        "common_name": "Rehearsal CA",
        "organization": "fips-keystore tests",
        "key_bits": 2048,
        "validity_days": 365,
    }
    outs = outs_of(CustomerCaProvider().create(props))
    assert outs is not None
    return outs


def signing_inputs(chain: Chain, ca: dict[str, Any], **extra: Any) -> dict[str, Any]:
    cloudhsm = chain.emulator.cloudhsm
    return {
        "cluster_id": chain.cluster_id,
        "hsm_id": chain.hsm_id,
        "ca_certificate_pem": ca["certificate_pem"],
        "ca_private_key_pem": ca["private_key_pem"],
        "aws_root_certificate_pem": cloudhsm.aws_root_pem,
        "manufacturer_root_certificate_pem": cloudhsm.manufacturer_root_pem,
        "require_identity": True,
        "validity_days": 365,
        "timeout_seconds": 1800,
        **extra,
    }


@pytest.fixture
def signed_cluster(new_cluster: Chain, customer_ca: dict[str, Any]) -> Chain:
    from providers.csr_signing import ClusterCsrSigningProvider

    outs = ClusterCsrSigningProvider().create(signing_inputs(new_cluster, customer_ca))
    new_cluster.ca = customer_ca
    new_cluster.signing = outs_of(outs)
    return new_cluster


def initialization_inputs(chain: Chain) -> dict[str, Any]:
    assert chain.signing is not None and chain.ca is not None
    return {
        "cluster_id": chain.cluster_id,
        "signed_certificate_pem": chain.signing["signed_certificate_pem"],
        "trust_anchor_pem": chain.ca["certificate_pem"],
        "timeout_seconds": 1800,
    }


@pytest.fixture
def initialized_cluster(signed_cluster: Chain) -> Chain:
    from providers.cluster_initialization import ClusterInitializationProvider

    ClusterInitializationProvider().create(initialization_inputs(signed_cluster))
    return signed_cluster


@pytest.fixture
def cluster_with_client(
    initialized_cluster: Chain, admin_instance: str, secrets: Secrets
) -> Chain:
    initialized_cluster.instance_id = admin_instance
    initialized_cluster.secrets = secrets
    return initialized_cluster


def activation_inputs(chain: Chain) -> dict[str, Any]:
    assert chain.secrets is not None and chain.ca is not None
    return {
        "cluster_id": chain.cluster_id,
        "instance_id": chain.instance_id,
        "hsm_ip": chain.hsm_ip,
        "trust_anchor_pem": chain.ca["certificate_pem"],
        "admin_password_secret_arn": chain.secrets.admin_arn,
        "timeout_seconds": 1800,
    }


@pytest.fixture
def activated_cluster(cluster_with_client: Chain) -> Chain:
    from providers.cluster_activation import ClusterActivationProvider

    ClusterActivationProvider().create(activation_inputs(cluster_with_client))
    cluster_with_client.hsm_ips = [cluster_with_client.hsm_ip]
    return cluster_with_client


def crypto_user_inputs(chain: Chain, **extra: Any) -> dict[str, Any]:
    assert chain.secrets is not None
    return {
        "cluster_id": chain.cluster_id,
        "instance_id": chain.instance_id,
        "hsm_ips": list(chain.hsm_ips or [chain.hsm_ip]),
        "username": "kmsuser",
        "password_secret_arn": chain.secrets.kmsuser_arn,
        "admin_password_secret_arn": chain.secrets.admin_arn,
        "timeout_seconds": 1800,
        **extra,
    }


@pytest.fixture
def cluster_with_kmsuser(activated_cluster: Chain) -> Chain:
    from providers.crypto_user import CryptoUserProvider

    CryptoUserProvider().create(crypto_user_inputs(activated_cluster))
    return activated_cluster


def add_hsm_while_creating_kmsuser(chain: Chain) -> None:
    """A second HSM, with kmsuser made while it is being cloned: it misses it."""
    second = boto3.client("cloudhsmv2").create_hsm(
        ClusterId=chain.cluster_id, AvailabilityZone="us-east-1b"
    )
    simulator = chain.emulator.cloudhsm.hsm_simulator(chain.cluster_id)
    simulator.create_user("kmsuser", "crypto-user", KMSUSER_PASSWORD)

    chain.emulator.clock.advance(chain.emulator.profile.hsm_create)
    chain.hsm_ips = [chain.hsm_ip, second["Hsm"]["EniIp"]]


@pytest.fixture
def two_hsm_cluster(cluster_with_kmsuser: Chain) -> Chain:
    """kmsuser made before the second HSM, so the clone carries it."""
    chain = cluster_with_kmsuser
    second = add_hsm(chain.emulator, chain.cluster_id, "us-east-1b")
    chain.hsm_ips = [chain.hsm_ip, second["EniIp"]]
    return chain


def create_key_store(chain: Chain, password: str = KMSUSER_PASSWORD) -> str:
    assert chain.ca is not None
    reply = boto3.client("kms").create_custom_key_store(
        CustomKeyStoreName=f"store-{chain.cluster_id}",
        CloudHsmClusterId=chain.cluster_id,
        TrustAnchorCertificate=chain.ca["certificate_pem"],
        KeyStorePassword=password,
    )
    return str(reply["CustomKeyStoreId"])


@pytest.fixture
def key_store(two_hsm_cluster: Chain) -> str:
    """A disconnected custom key store on the two-HSM cluster."""
    return create_key_store(two_hsm_cluster)
