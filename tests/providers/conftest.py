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

CLIENT_USER_DATA = (
    "#!/bin/bash\n"
    "dnf install -y ./cloudhsm-cli-latest.amzn2023.x86_64.rpm  # cloudhsm-cli\n"
)
ADMIN_PASSWORD = "AdminPassw0rd7"
KMSUSER_PASSWORD = "KmsUserPassw0rd9"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def set_faults(emulator: Emulator, **faults: Any) -> None:
    emulator.faults = FaultPlan.from_dict(faults, seed=emulator.seed)


def launch_admin_instance(
    user_data: str = CLIENT_USER_DATA, with_ssm_policy: bool = True
) -> str:
    """An instance whose role lets SSM manage it, running the client user data."""
    iam = boto3.client("iam")
    iam.create_role(
        RoleName="fips-admin", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY)
    )
    if with_ssm_policy:
        iam.attach_role_policy(RoleName="fips-admin", PolicyArn=_ssm_policy_arn(iam))
    iam.create_instance_profile(InstanceProfileName="fips-admin")
    iam.add_role_to_instance_profile(
        InstanceProfileName="fips-admin", RoleName="fips-admin"
    )
    reservation = boto3.client("ec2").run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        UserData=user_data,
        IamInstanceProfile={"Name": "fips-admin"},
    )
    return str(reservation["Instances"][0]["InstanceId"])


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
