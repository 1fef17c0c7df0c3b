"""Contracts of rehearsal.emulator.moto_internals: one test per use of moto's
internals, each checked through the AWS API boto3 sees, so a moto upgrade that
changes what the emulator relies on fails here, by name."""

from __future__ import annotations

import base64
import importlib.metadata
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from rehearsal.emulator import Emulator, EmulatorError
from rehearsal.emulator import moto_internals as moto
from rehearsal.emulator.moto_internals import (
    Ec2Instance,
    MotoServiceError,
    NetworkInterface,
    SecurityRule,
    Subnet,
)

from ._cloudhsm_setup import EC2_TRUST_POLICY, SSM_POLICY

PROJECT_DIR = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ANY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
}


def network() -> tuple[str, str]:
    """A VPC and one subnet in it, made through the API."""
    ec2 = boto3.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(
        VpcId=vpc_id, CidrBlock="10.30.1.0/24", AvailabilityZone="us-east-1a"
    )["Subnet"]
    return vpc_id, subnet["SubnetId"]


def group_in(vpc_id: str, name: str = "cluster-sg") -> str:
    return moto.create_security_group(REGION, name, "a test group", vpc_id)


def store_key() -> str:
    return moto.create_symmetric_key(REGION, None, "in a store", None, "AWS_CLOUDHSM")


def client(service: str, url: str) -> Any:
    """A client of a server this test started itself, with dummy credentials."""
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_moto_version_is_the_pinned_one() -> None:
    requirements = (PROJECT_DIR / "requirements.txt").read_text().splitlines()

    assert importlib.metadata.version("moto") == moto.MOTO_VERSION
    assert f"moto=={moto.MOTO_VERSION}" in requirements


def test_default_account_id_is_motos(emulator: Emulator) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID

    account = boto3.client("sts").get_caller_identity()["Account"]

    assert moto.DEFAULT_ACCOUNT_ID == DEFAULT_ACCOUNT_ID == account


def test_backend_is_the_one_serving_requests(emulator: Emulator) -> None:
    vpc_id = boto3.client("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]

    assert vpc_id in moto.backend("ec2", REGION).vpcs
    assert emulator.moto_backend("ec2") is moto.backend("ec2", REGION)


def test_forget_every_backend_empties_moto(emulator: Emulator) -> None:
    ec2 = boto3.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]

    moto.forget_every_backend()

    remaining = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]
    assert vpc_id not in remaining
    assert len(remaining) == 1  # the default VPC of a fresh backend


def test_offer_only_managed_policies_keeps_named_policies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_real_aws: None
) -> None:
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    # The emulator offers them when it starts; a fresh IAM backend loads them.
    with Emulator(workdir=tmp_path) as emulator:
        iam = client("iam", emulator.url)
        policy = iam.get_policy(PolicyArn=SSM_POLICY)["Policy"]
        aws_policies = iam.list_policies(Scope="AWS")["Policies"]

    assert policy["PolicyName"] == "AmazonSSMManagedInstanceCore"
    assert [p["Arn"] for p in aws_policies] == [SSM_POLICY]


def test_offer_only_managed_policies_unknown_name_refused() -> None:
    with pytest.raises(EmulatorError, match="no AWS managed policy 'NoSuchPolicy'"):
        moto.offer_only_managed_policies(("NoSuchPolicy",))


def test_threaded_server_serves_moto_behind_wrapper(no_real_aws: None) -> None:
    seen: list[str] = []

    def wrap(app: moto.WsgiApp) -> moto.WsgiApp:
        def wrapped(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            seen.append(environ["PATH_INFO"])
            return app(environ, start_response)

        return wrapped

    server = moto.threaded_server(wrap, port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        sts = client("sts", f"http://{host}:{port}")
        account = sts.get_caller_identity()["Account"]
    finally:
        server.stop()

    assert host == "127.0.0.1"
    assert account == moto.DEFAULT_ACCOUNT_ID
    assert seen == ["/"]


def test_find_subnet_reads_subnet(emulator: Emulator) -> None:
    vpc_id, subnet_id = network()

    assert moto.find_subnet(REGION, subnet_id) == Subnet(
        subnet_id, vpc_id, "us-east-1a", "10.30.1.0/24"
    )
    assert moto.find_subnet(REGION, "subnet-0123456789abcdef0") is None


def test_subnet_ids_lists_every_subnet(emulator: Emulator) -> None:
    _vpc_id, subnet_id = network()
    listed = boto3.client("ec2").describe_subnets()["Subnets"]

    assert moto.subnet_ids(REGION) == {s["SubnetId"] for s in listed}
    assert subnet_id in moto.subnet_ids(REGION)


def test_create_network_interface_places_eni_in_subnet(emulator: Emulator) -> None:
    vpc_id, subnet_id = network()
    group_id = group_in(vpc_id)

    eni = moto.create_network_interface(
        REGION, subnet_id, "10.30.1.10", [group_id], "CloudHSM ENI"
    )
    [described] = boto3.client("ec2").describe_network_interfaces(
        NetworkInterfaceIds=[eni.eni_id]
    )["NetworkInterfaces"]

    assert eni == NetworkInterface(described["NetworkInterfaceId"], "10.30.1.10")
    assert (described["SubnetId"], described["Description"]) == (
        subnet_id,
        "CloudHSM ENI",
    )
    assert [g["GroupId"] for g in described["Groups"]] == [group_id]


def test_create_network_interface_without_address_picks_one(
    emulator: Emulator,
) -> None:
    vpc_id, subnet_id = network()

    eni = moto.create_network_interface(REGION, subnet_id, None, [], "any address")

    assert eni.private_ip.startswith("10.30.1.")


def test_delete_network_interface_twice_reports_it_gone(emulator: Emulator) -> None:
    _vpc_id, subnet_id = network()
    eni = moto.create_network_interface(REGION, subnet_id, None, [], "short-lived")

    first = moto.delete_network_interface(REGION, eni.eni_id)
    second = moto.delete_network_interface(REGION, eni.eni_id)

    enis = boto3.client("ec2").describe_network_interfaces()["NetworkInterfaces"]
    assert (first, second) == (True, False)
    assert eni.eni_id not in [e["NetworkInterfaceId"] for e in enis]


def test_create_security_group_in_vpc(emulator: Emulator) -> None:
    vpc_id, _subnet_id = network()

    group_id = group_in(vpc_id, "cloudhsm-cluster-x-sg")

    [group] = boto3.client("ec2").describe_security_groups(GroupIds=[group_id])[
        "SecurityGroups"
    ]
    assert (group["GroupName"], group["VpcId"], group["Description"]) == (
        "cloudhsm-cluster-x-sg",
        vpc_id,
        "a test group",
    )


def test_allow_tcp_within_group_adds_self_referencing_rule(
    emulator: Emulator,
) -> None:
    vpc_id, _subnet_id = network()
    group_id = group_in(vpc_id)

    moto.allow_tcp_within_group(REGION, group_id, 2223, 2225, vpc_id)

    [group] = boto3.client("ec2").describe_security_groups(GroupIds=[group_id])[
        "SecurityGroups"
    ]
    [rule] = group["IpPermissions"]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 2223, 2225)
    assert [pair["GroupId"] for pair in rule["UserIdGroupPairs"]] == [group_id]


def test_delete_security_group_twice_reports_it_gone(emulator: Emulator) -> None:
    vpc_id, _subnet_id = network()
    group_id = group_in(vpc_id)

    first = moto.delete_security_group(REGION, group_id)
    second = moto.delete_security_group(REGION, group_id)

    assert (first, second) == (True, False)
    with pytest.raises(ClientError):
        boto3.client("ec2").describe_security_groups(GroupIds=[group_id])


def test_security_group_rules_reads_ingress_and_egress(emulator: Emulator) -> None:
    vpc_id, _subnet_id = network()
    group_id = group_in(vpc_id)
    moto.allow_tcp_within_group(REGION, group_id, 2223, 2225, vpc_id)

    rules = moto.security_group_rules(REGION, group_id)

    assert rules is not None
    assert rules.group_id == group_id
    assert rules.ingress == (SecurityRule("tcp", 2223, 2225, None, group_id),)
    # A new group's default egress: everything, anywhere.
    assert rules.egress == (SecurityRule("-1", None, None, "0.0.0.0/0", None),)
    assert moto.security_group_rules(REGION, "sg-0123456789abcdef0") is None


def test_ec2_instances_lists_instances_of_the_api(emulator: Emulator) -> None:
    _vpc_id, subnet_id = network()
    profile_arn = instance_profile("admin-client", ANY_POLICY)
    reservation = boto3.client("ec2").run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet_id,
        UserData="#!/bin/bash\necho hi\n",
        IamInstanceProfile={"Arn": profile_arn},
    )
    [launched] = reservation["Instances"]

    assert moto.ec2_instances() == [
        Ec2Instance(
            instance_id=launched["InstanceId"],
            region=REGION,
            running=True,
            private_ip=launched["PrivateIpAddress"],
            user_data="#!/bin/bash\necho hi\n",
            instance_profile_arn=profile_arn,
        )
    ]


def instance_profile(name: str, policy: dict[str, Any]) -> str:
    """An instance profile whose role has a customer managed policy; its ARN."""
    iam = boto3.client("iam")
    trust = json.dumps(EC2_TRUST_POLICY)
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    created = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(policy))
    policy_arn = created["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    profile = iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return str(profile["InstanceProfile"]["Arn"])


def test_instance_profile_role_reads_role_and_policies(emulator: Emulator) -> None:
    profile_arn = instance_profile("admin-client", ANY_POLICY)
    policy_arn = f"arn:aws:iam::{moto.DEFAULT_ACCOUNT_ID}:policy/admin-client"

    assert moto.instance_profile_role(profile_arn) == ("admin-client", (policy_arn,))
    assert moto.instance_profile_role(profile_arn + "-missing") is None


def test_create_symmetric_key_has_origin_and_spec(emulator: Emulator) -> None:
    key_id = store_key()

    metadata = boto3.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]

    assert (metadata["Origin"], metadata["Description"]) == (
        "AWS_CLOUDHSM",
        "in a store",
    )
    assert (metadata["KeySpec"], metadata["KeyUsage"]) == (
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
    )
    assert metadata["MultiRegion"] is False


def test_describe_key_answers_as_the_api(emulator: Emulator) -> None:
    key_id = store_key()

    described = moto.describe_key(REGION, key_id)["KeyMetadata"]
    metadata = boto3.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]

    for name in ("KeyId", "Arn", "KeyState", "Origin", "KeySpec", "Enabled"):
        assert described[name] == metadata[name], name


def test_resolve_key_id_follows_arn_and_alias(emulator: Emulator) -> None:
    kms = boto3.client("kms")
    key_id = store_key()
    kms.create_alias(AliasName="alias/store", TargetKeyId=key_id)
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]

    resolved = [
        moto.resolve_key_id(REGION, name) for name in (key_id, arn, "alias/store")
    ]

    assert resolved == [key_id] * 3
    assert moto.resolve_key_id(REGION, "alias/nothing") is None


def test_schedule_key_deletion_at_shows_in_describe_key(emulator: Emulator) -> None:
    key_id = store_key()
    deletion = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)

    arn = moto.schedule_key_deletion_at(REGION, key_id, deletion)

    metadata = boto3.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]
    assert arn == metadata["Arn"]
    assert (metadata["KeyState"], metadata["Enabled"]) == ("PendingDeletion", False)
    assert metadata["DeletionDate"] == deletion


def test_delete_key_removes_key(emulator: Emulator) -> None:
    key_id = store_key()

    moto.delete_key(REGION, key_id)

    with pytest.raises(ClientError) as raised:
        boto3.client("kms").describe_key(KeyId=key_id)
    assert raised.value.response["Error"]["Code"] == "NotFoundException"


def test_key_id_in_ciphertext_names_encrypting_key(emulator: Emulator) -> None:
    key_id = store_key()
    blob = boto3.client("kms").encrypt(KeyId=key_id, Plaintext=b"data")

    encoded = base64.b64encode(blob["CiphertextBlob"]).decode()

    assert moto.key_id_in_ciphertext(encoded) == key_id
    assert moto.key_id_in_ciphertext("not base64!") is None


def test_delete_secret_answers_arn_name_and_date(emulator: Emulator) -> None:
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name="pin", SecretString="1234")["ARN"]

    deleted = moto.delete_secret(REGION, "pin", 7, False)

    assert deleted[:2] == (arn, "pin")
    assert isinstance(deleted[2], float | int)
    assert "DeletedDate" in secrets.describe_secret(SecretId=arn)


def test_delete_secret_unknown_raises_aws_error(emulator: Emulator) -> None:
    with pytest.raises(MotoServiceError) as raised:
        moto.delete_secret(REGION, "missing", None, False)

    # moto 5.2.5 answers 404 here (AWS answers 400); the emulator passes it on.
    assert (raised.value.status, raised.value.code) == (
        404,
        "ResourceNotFoundException",
    )
    assert raised.value.message


def test_set_secret_deletion_date_shows_in_describe_secret(
    emulator: Emulator,
) -> None:
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name="pin", SecretString="1234")["ARN"]
    moto.delete_secret(REGION, arn, 30, False)
    deletion = datetime(2026, 3, 1, tzinfo=UTC)

    moto.set_secret_deletion_date(REGION, arn, deletion.timestamp())

    assert secrets.describe_secret(SecretId=arn)["DeletedDate"] == deletion
