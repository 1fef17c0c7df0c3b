"""Each pulumi-aws type the adapter knows creates, reads and deletes in the emulator."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from providers.waiting import HttpClock
from rehearsal.emulator import Emulator
from rehearsal.engine.aws_adapter import AwsAdapter, auto_name
from rehearsal.engine.aws_hsm import PULUMI_AWS_POLL_SECONDS
from rehearsal.engine.errors import UnsupportedResourceError

ASSUME_EC2 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


class ListLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str) -> None:
        self.lines.append(msg)


@pytest.fixture(scope="module")
def shared_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    # One emulator for the module: moto's EC2 backend takes seconds to warm up.
    emulator = Emulator(profile="fast", workdir=tmp_path_factory.mktemp("emulator"))
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def adapter(shared_emulator: Emulator) -> AwsAdapter:
    env = shared_emulator.env()
    return AwsAdapter(env, HttpClock(env["FIPS_KEYSTORE_CLOCK_URL"]), ListLog())


def lifecycle(
    adapter: AwsAdapter, type_: str, inputs: dict[str, Any]
) -> dict[str, Any]:
    """Create, read and delete one resource; return what create answered."""
    id_, outputs = adapter.create(type_, "test", inputs)

    assert outputs["id"] == id_
    assert adapter.read(type_, id_, outputs) is not None
    adapter.delete(type_, id_, outputs)
    assert adapter.read(type_, id_, outputs) is None
    return outputs


def create(adapter: AwsAdapter, type_: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return adapter.create(type_, "test", inputs)[1]


@pytest.fixture
def vpc(adapter: AwsAdapter) -> dict[str, Any]:
    return create(adapter, "aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16"})


@pytest.fixture
def subnet(adapter: AwsAdapter, vpc: dict[str, Any]) -> dict[str, Any]:
    inputs = {"vpcId": vpc["id"], "cidrBlock": "10.0.1.0/24"}
    return create(
        adapter, "aws:ec2/subnet:Subnet", {**inputs, "availabilityZone": "us-east-1a"}
    )


def test_vpc_lifecycle_answers_pulumi_attribute_names(adapter: AwsAdapter) -> None:
    outputs = lifecycle(adapter, "aws:ec2/vpc:Vpc", {"cidrBlock": "10.1.0.0/16"})

    assert outputs["cidrBlock"] == "10.1.0.0/16"
    assert outputs["defaultSecurityGroupId"].startswith("sg-")
    assert outputs["mainRouteTableId"].startswith("rtb-")


def test_subnet_lifecycle_reports_zone(
    adapter: AwsAdapter, vpc: dict[str, Any]
) -> None:
    inputs = {
        "vpcId": vpc["id"],
        "cidrBlock": "10.0.9.0/24",
        "availabilityZone": "us-east-1b",
    }

    outputs = lifecycle(adapter, "aws:ec2/subnet:Subnet", inputs)

    assert outputs["availabilityZone"] == "us-east-1b"


def test_internet_gateway_lifecycle(adapter: AwsAdapter, vpc: dict[str, Any]) -> None:
    outputs = lifecycle(
        adapter, "aws:ec2/internetGateway:InternetGateway", {"vpcId": vpc["id"]}
    )

    assert outputs["id"].startswith("igw-")


def test_nat_gateway_lifecycle_waits_available(
    adapter: AwsAdapter, subnet: dict[str, Any]
) -> None:
    eip = create(adapter, "aws:ec2/eip:Eip", {"domain": "vpc"})

    outputs = lifecycle(
        adapter,
        "aws:ec2/natGateway:NatGateway",
        {"subnetId": subnet["id"], "allocationId": eip["allocationId"]},
    )

    assert outputs["id"].startswith("nat-")
    lifecycle(adapter, "aws:ec2/eip:Eip", {"domain": "vpc"})


def test_route_table_route_and_association_lifecycle(
    adapter: AwsAdapter, vpc: dict[str, Any], subnet: dict[str, Any]
) -> None:
    gateway = create(
        adapter, "aws:ec2/internetGateway:InternetGateway", {"vpcId": vpc["id"]}
    )
    table = create(adapter, "aws:ec2/routeTable:RouteTable", {"vpcId": vpc["id"]})
    route = {
        "routeTableId": table["id"],
        "destinationCidrBlock": "0.0.0.0/0",
        "gatewayId": gateway["id"],
    }

    assert lifecycle(adapter, "aws:ec2/route:Route", route)["id"].startswith("r-rtb-")
    lifecycle(
        adapter,
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        {"routeTableId": table["id"], "subnetId": subnet["id"]},
    )
    lifecycle(adapter, "aws:ec2/routeTable:RouteTable", {"vpcId": vpc["id"]})


def test_security_group_and_rules_lifecycle(
    adapter: AwsAdapter, vpc: dict[str, Any]
) -> None:
    group = lifecycle(
        adapter,
        "aws:ec2/securityGroup:SecurityGroup",
        {"vpcId": vpc["id"], "description": "x"},
    )
    target = create(
        adapter, "aws:ec2/securityGroup:SecurityGroup", {"vpcId": vpc["id"]}
    )
    rule = {"securityGroupId": target["id"], "ipProtocol": "tcp", "fromPort": 2223.0}

    lifecycle(
        adapter,
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        {**rule, "toPort": 2225.0, "cidrIpv4": "10.0.0.0/16"},
    )
    lifecycle(
        adapter,
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        {
            **rule,
            "toPort": 2225.0,
            "referencedSecurityGroupId": vpc["defaultSecurityGroupId"],
        },
    )
    assert group["name"].startswith("test-")


def test_role_profile_policies_lifecycle(adapter: AwsAdapter) -> None:
    role = create(adapter, "aws:iam/role:Role", {"assumeRolePolicy": ASSUME_EC2})
    statement = {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}
    inline = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    iam = adapter.context.client("iam")
    policy_arn = iam.create_policy(PolicyName="p", PolicyDocument=inline)["Policy"][
        "Arn"
    ]

    lifecycle(
        adapter,
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        {"role": role["name"], "policyArn": policy_arn},
    )
    lifecycle(
        adapter,
        "aws:iam/rolePolicy:RolePolicy",
        {"role": role["name"], "policy": inline},
    )
    profile = lifecycle(
        adapter, "aws:iam/instanceProfile:InstanceProfile", {"role": role["name"]}
    )
    lifecycle(
        adapter, "aws:iam/role:Role", {"assumeRolePolicy": ASSUME_EC2, "name": "other"}
    )
    assert profile["arn"].endswith(f"instance-profile/{profile['name']}")


def test_secret_and_version_lifecycle(adapter: AwsAdapter) -> None:
    secret = create(
        adapter, "aws:secretsmanager/secret:Secret", {"recoveryWindowInDays": 0}
    )
    version_inputs = {"secretId": secret["arn"], "secretString": "pw-123456"}

    version = lifecycle_version(adapter, version_inputs)
    deletion = adapter.delete("aws:secretsmanager/secret:Secret", secret["id"], secret)

    assert version["versionStages"] == ["AWSCURRENT"]
    assert deletion.state == "deleted"
    assert (
        adapter.read("aws:secretsmanager/secret:Secret", secret["id"], secret) is None
    )


def lifecycle_version(adapter: AwsAdapter, inputs: dict[str, Any]) -> dict[str, Any]:
    type_ = "aws:secretsmanager/secretVersion:SecretVersion"
    id_, outputs = adapter.create(type_, "version", inputs)
    assert adapter.read(type_, id_, outputs) is not None
    assert adapter.delete(type_, id_, outputs).state == "left with its secret"
    return outputs


def test_instance_lifecycle_waits_running(
    adapter: AwsAdapter, subnet: dict[str, Any]
) -> None:
    inputs = {
        "ami": "ami-12c6146b",
        "instanceType": "t3.micro",
        "subnetId": subnet["id"],
        "userData": "#!/bin/bash\necho hello\n",
    }

    outputs = lifecycle(adapter, "aws:ec2/instance:Instance", inputs)

    assert outputs["privateIp"].startswith("10.0.1.")
    assert outputs["instanceState"] == "running"


def test_key_and_alias_lifecycle_schedules_key_deletion(adapter: AwsAdapter) -> None:
    key_id, key = adapter.create(
        "aws:kms/key:Key", "key", {"deletionWindowInDays": 7.0}
    )
    alias = {"name": "alias/rehearsal", "targetKeyId": key_id}

    lifecycle(adapter, "aws:kms/alias:Alias", alias)
    deletion = adapter.delete("aws:kms/key:Key", key_id, key)

    assert key["arn"].endswith(f"key/{key_id}")
    assert deletion.state == "pending deletion" and deletion.until
    assert adapter.read("aws:kms/key:Key", key_id, key) is None


def test_create_with_unknown_type_fails_naming_it(adapter: AwsAdapter) -> None:
    with pytest.raises(UnsupportedResourceError) as raised:
        adapter.create("aws:s3/bucket:Bucket", "logs", {})

    assert "resource logs has type aws:s3/bucket:Bucket" in str(raised.value)
    assert "docs/architecture.md" in str(raised.value)


def test_invoke_with_unknown_data_source_fails_naming_it(adapter: AwsAdapter) -> None:
    with pytest.raises(UnsupportedResourceError) as raised:
        adapter.invoke("aws:s3/getBucket:getBucket", {})

    assert "data source aws:s3/getBucket:getBucket" in str(raised.value)


def test_invokes_answer_from_emulator(
    adapter: AwsAdapter, subnet: dict[str, Any]
) -> None:
    identity = adapter.invoke("aws:index/getCallerIdentity:getCallerIdentity", {})
    region = adapter.invoke("aws:index/getRegion:getRegion", {})
    zones = adapter.invoke("aws:index/getAvailabilityZones:getAvailabilityZones", {})
    found = adapter.invoke("aws:ec2/getSubnet:getSubnet", {"id": subnet["id"]})

    assert identity["accountId"] == "123456789012"
    assert region["name"] == "us-east-1"
    assert "us-east-1a" in zones["names"]
    assert found["vpcId"] == subnet["vpcId"]


CLUSTER = "aws:cloudhsmv2/cluster:Cluster"
HSM = "aws:cloudhsmv2/hsm:Hsm"


@pytest.fixture
def cluster(adapter: AwsAdapter, vpc: dict[str, Any]) -> dict[str, Any]:
    subnet = create(
        adapter,
        "aws:ec2/subnet:Subnet",
        {
            "vpcId": vpc["id"],
            "cidrBlock": "10.0.5.0/24",
            "availabilityZone": "us-east-1a",
        },
    )
    inputs = {"hsmType": "hsm2m.medium", "mode": "FIPS", "subnetIds": [subnet["id"]]}
    return create(adapter, CLUSTER, inputs)


def cloudhsm_error(adapter: AwsAdapter, call: str, **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        getattr(adapter.context.client("cloudhsmv2"), call)(**params)
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


def test_create_hsm_waits_as_pulumi_aws_does_polling_every_30_seconds(
    adapter: AwsAdapter, shared_emulator: Emulator, cluster: dict[str, Any]
) -> None:
    before = len(shared_emulator.waits)

    hsm_id, _ = adapter.create(
        HSM, "hsm", {"clusterId": cluster["id"], "availabilityZone": "us-east-1a"}
    )

    [record] = [w for w in shared_emulator.waits[before:] if hsm_id in w["resource"]]
    assert record["waiter"] == "pulumi-aws"
    assert record["overhead_bound_seconds"] == PULUMI_AWS_POLL_SECONDS
    assert record["waited_seconds"] >= shared_emulator.profile.hsm_create


def test_delete_hsm_already_gone_counts_as_deleted(
    adapter: AwsAdapter, shared_emulator: Emulator, cluster: dict[str, Any]
) -> None:
    hsm_id, hsm = adapter.create(
        HSM, "hsm", {"clusterId": cluster["id"], "availabilityZone": "us-east-1a"}
    )
    cloudhsm = adapter.context.client("cloudhsmv2")
    cloudhsm.delete_hsm(ClusterId=cluster["id"], HsmId=hsm_id)
    shared_emulator.clock.advance(shared_emulator.profile.hsm_delete)
    code, _ = cloudhsm_error(
        adapter, "delete_hsm", ClusterId=cluster["id"], HsmId=hsm_id
    )

    deletion = adapter.delete(HSM, hsm_id, hsm)

    log = adapter.context.log
    assert isinstance(log, ListLog)
    assert code == "CloudHsmResourceNotFoundException"
    assert deletion.state == "deleted"
    assert f"HSM {hsm_id}: already gone, counted as deleted" in log.lines
    assert adapter.read(HSM, hsm_id, hsm) is None


def test_delete_cluster_already_gone_counts_as_deleted(adapter: AwsAdapter) -> None:
    gone = "cluster-gonegonegon"
    code, _ = cloudhsm_error(adapter, "delete_cluster", ClusterId=gone)

    deletion = adapter.delete(CLUSTER, gone, {"clusterId": gone})

    assert code == "CloudHsmResourceNotFoundException"
    assert deletion.state == "deleted"
    assert adapter.read(CLUSTER, gone, {"clusterId": gone}) is None


def test_delete_cluster_still_holding_hsm_fails_with_aws_error(
    adapter: AwsAdapter, cluster: dict[str, Any]
) -> None:
    adapter.create(
        HSM, "hsm", {"clusterId": cluster["id"], "availabilityZone": "us-east-1a"}
    )

    with pytest.raises(ClientError) as raised:
        adapter.delete(CLUSTER, cluster["id"], cluster)

    error = raised.value.response["Error"]
    assert error["Code"] == "CloudHsmInvalidRequestException"
    assert error["Message"].startswith(f"Cluster {cluster['id']} still contains HSMs")


def test_auto_name_differs_for_a_stack_deployed_again_later() -> None:
    first = auto_name({"namePrefix": "fips/dev/admin-"}, "secret", stack="dev")
    again = auto_name(
        {"namePrefix": "fips/dev/admin-"}, "secret", stack="dev", moment=3600.0
    )

    assert first.startswith("fips/dev/admin-") and again.startswith("fips/dev/admin-")
    assert first != again
    assert first == auto_name({"namePrefix": "fips/dev/admin-"}, "secret", stack="dev")
