"""The program under Pulumi mocks: resource graph, order, options and outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.errors import NetworkError
from components.stack import OUTPUT_NAMES
from providers.customer_ca import generate_ca
from stack_config import StackConfig, load_stack_config
from tests.program.mocks import (
    FAKE_PEM,
    GIVEN_VPC_ID,
    CloudMocks,
    Evaluation,
    evaluate,
)

NETWORK = "fips-keystore:network:Network"
CLUSTER = "fips-keystore:cloudhsm:HsmCluster"
CLIENT = "fips-keystore:cloudhsm:AdminClient"
KEY_STORE = "fips-keystore:kms:KeyStore"
DYNAMIC = "pulumi-python:dynamic:"

# name -> (type, parent component name) for a dev stack with 2 HSMs.
DEV_GRAPH: dict[str, tuple[str, str]] = {
    "network": (NETWORK, ""),
    "network-vpc": ("aws:ec2/vpc:Vpc", "network"),
    "network-private-0": ("aws:ec2/subnet:Subnet", "network"),
    "network-private-1": ("aws:ec2/subnet:Subnet", "network"),
    "network-public": ("aws:ec2/subnet:Subnet", "network"),
    "network-igw": ("aws:ec2/internetGateway:InternetGateway", "network"),
    "network-public-routes": ("aws:ec2/routeTable:RouteTable", "network"),
    "network-public-default": ("aws:ec2/route:Route", "network"),
    "network-public-association": (
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "network",
    ),
    "network-nat-address": ("aws:ec2/eip:Eip", "network"),
    "network-nat": ("aws:ec2/natGateway:NatGateway", "network"),
    "network-private-routes": ("aws:ec2/routeTable:RouteTable", "network"),
    "network-private-default": ("aws:ec2/route:Route", "network"),
    "network-private-association-0": (
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "network",
    ),
    "network-private-association-1": (
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "network",
    ),
    "cluster": (CLUSTER, ""),
    "cluster-cluster": ("aws:cloudhsmv2/cluster:Cluster", "cluster"),
    "cluster-backup-retention": (f"{DYNAMIC}BackupRetention", "cluster"),
    "cluster-hsm-0": ("aws:cloudhsmv2/hsm:Hsm", "cluster"),
    "cluster-hsm-1": ("aws:cloudhsmv2/hsm:Hsm", "cluster"),
    "cluster-customer-ca": (f"{DYNAMIC}CustomerCa", "cluster"),
    "cluster-csr-signing": (f"{DYNAMIC}ClusterCsrSigning", "cluster"),
    "cluster-initialization": (f"{DYNAMIC}ClusterInitialization", "cluster"),
    "cluster-admin-password": (f"{DYNAMIC}GeneratedPassword", "cluster"),
    "cluster-admin-secret": ("aws:secretsmanager/secret:Secret", "cluster"),
    "cluster-admin-secret-value": (
        "aws:secretsmanager/secretVersion:SecretVersion",
        "cluster",
    ),
    "cluster-kmsuser-password": (f"{DYNAMIC}GeneratedPassword", "cluster"),
    "cluster-kmsuser-secret": ("aws:secretsmanager/secret:Secret", "cluster"),
    "cluster-kmsuser-secret-value": (
        "aws:secretsmanager/secretVersion:SecretVersion",
        "cluster",
    ),
    "cluster-activation": (f"{DYNAMIC}ClusterActivation", "cluster"),
    "cluster-kmsuser": (f"{DYNAMIC}CryptoUser", "cluster"),
    "cluster-coverage": (f"{DYNAMIC}CryptoUserCoverage", "cluster"),
    "cluster-admin": (CLIENT, "cluster"),
    "cluster-admin-role": ("aws:iam/role:Role", "cluster-admin"),
    "cluster-admin-ssm": (
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "cluster-admin",
    ),
    "cluster-admin-read-passwords": ("aws:iam/rolePolicy:RolePolicy", "cluster-admin"),
    "cluster-admin-profile": (
        "aws:iam/instanceProfile:InstanceProfile",
        "cluster-admin",
    ),
    "cluster-admin-sg": ("aws:ec2/securityGroup:SecurityGroup", "cluster-admin"),
    "cluster-admin-egress-https": (
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "cluster-admin",
    ),
    "cluster-admin-egress-hsm": (
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "cluster-admin",
    ),
    "cluster-admin-cluster-ingress": (
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "cluster-admin",
    ),
    "cluster-admin-instance": ("aws:ec2/instance:Instance", "cluster-admin"),
    "key-store": (KEY_STORE, ""),
    "key-store-store": ("aws:kms/customKeyStore:CustomKeyStore", "key-store"),
    "key-store-connection": (f"{DYNAMIC}KeyStoreConnection", "key-store"),
    "key-store-key": ("aws:kms/key:Key", "key-store"),
    "key-store-alias": ("aws:kms/alias:Alias", "key-store"),
}
SUBNETS = ["subnet-0aaa1111", "subnet-0bbb2222"]
ROOT_DIR = Path(__file__).resolve().parents[2]


def config_of(**values: Any) -> StackConfig:
    return load_stack_config(values, stack="test")


@pytest.fixture
def dev() -> Evaluation:
    return evaluate(config_of(protectKeys=False))


def parent_name(evaluation: Evaluation, name: str) -> str:
    """The parent's name, or "" for a resource parented to the stack."""
    by_urn = {
        r.urn: "" if r.type == "pulumi:pulumi:Stack" else r.name
        for r in evaluation.registrations.values()
    }
    return by_urn[evaluation.registrations[name].parent]


def stack_file(name: str) -> dict[str, Any]:
    import yaml

    return yaml.safe_load((ROOT_DIR / name).read_text())


def test_build_registers_every_resource_with_its_type_and_parent(
    dev: Evaluation,
) -> None:
    declared = {
        name: (r.type, parent_name(dev, name))
        for name, r in dev.registrations.items()
        if r.type != "pulumi:pulumi:Stack"
    }

    assert declared == DEV_GRAPH


def test_build_uses_only_the_resource_types_of_the_contract(dev: Evaluation) -> None:
    contract = (ROOT_DIR / "docs" / "architecture.md").read_text()

    for registration in dev.registrations.values():
        if registration.type.startswith(("aws:", DYNAMIC)):
            token = registration.type.removeprefix(DYNAMIC)
            assert token in contract, registration.type


def test_build_signs_the_csr_of_the_cluster_without_waiting_on_the_hsm_resource(
    dev: Evaluation,
) -> None:
    # The provider waits for the first HSM's CSR itself (its hsm_id is unset).
    assert dev.depends_on("cluster-csr-signing", "cluster-cluster")
    assert dev.depends_on("cluster-csr-signing", "cluster-customer-ca")
    assert not dev.depends_on("cluster-csr-signing", "cluster-hsm-0")
    assert not dev.depends_on("cluster-csr-signing", "cluster-hsm-1")
    assert dev.inputs["cluster-csr-signing"].get("hsm_id") is None


def test_build_lets_destroy_delete_the_first_hsm_with_the_others(
    dev: Evaluation,
) -> None:
    # Only the coverage check and the key store, deleted first, need hsm-0; the
    # chain up to kmsuser reaches it through the signing's record of it.
    needing_first_hsm = {
        name
        for name in dev.registrations
        if name != "cluster-hsm-0" and dev.depends_on(name, "cluster-hsm-0")
    }
    assert needing_first_hsm <= {
        "cluster-coverage",
        "key-store-store",
        "key-store-connection",
        "key-store-key",
        "key-store-alias",
    }
    assert not dev.depends_on("cluster-hsm-0", "cluster-hsm-1")
    assert not dev.depends_on("cluster-hsm-1", "cluster-hsm-0")
    assert not dev.depends_on("cluster-kmsuser", "cluster-hsm-0")
    assert not dev.depends_on("cluster-activation", "cluster-hsm-0")


def test_build_activates_after_initialization_and_the_instance(
    dev: Evaluation,
) -> None:
    assert dev.depends_on("cluster-initialization", "cluster-csr-signing")
    assert dev.depends_on("cluster-activation", "cluster-initialization")
    assert dev.depends_on("cluster-activation", "cluster-admin-instance")
    assert dev.depends_on("cluster-activation", "cluster-admin-cluster-ingress")
    assert dev.depends_on("cluster-activation", "cluster-admin-secret-value")


def test_build_adds_the_second_hsm_after_the_crypto_user(dev: Evaluation) -> None:
    assert dev.depends_on("cluster-kmsuser", "cluster-activation")
    assert dev.depends_on("cluster-kmsuser", "cluster-kmsuser-secret-value")
    assert dev.depends_on("cluster-hsm-1", "cluster-kmsuser")
    assert not dev.depends_on("cluster-hsm-0", "cluster-kmsuser")


def test_build_checks_coverage_after_every_hsm(dev: Evaluation) -> None:
    for hsm in ("cluster-hsm-0", "cluster-hsm-1"):
        assert dev.depends_on("cluster-coverage", hsm)


def test_build_makes_the_key_store_after_all_hsms_and_coverage(
    dev: Evaluation,
) -> None:
    for prerequisite in ("cluster-hsm-0", "cluster-hsm-1", "cluster-coverage"):
        assert dev.depends_on("key-store-store", prerequisite)


def test_build_makes_the_key_after_the_connection(dev: Evaluation) -> None:
    assert dev.depends_on("key-store-connection", "key-store-store")
    assert dev.depends_on("key-store-key", "key-store-connection")
    assert dev.depends_on("key-store-alias", "key-store-key")


def test_build_boots_the_instance_independently_of_the_cluster(
    dev: Evaluation,
) -> None:
    cluster_side = [
        name
        for name, (_, parent) in DEV_GRAPH.items()
        if parent == "cluster" and name != "cluster-admin"
    ]

    for name in cluster_side:
        assert not dev.depends_on("cluster-admin-instance", name), name
    assert dev.depends_on("cluster-admin-instance", "cluster-admin-ssm")
    assert dev.depends_on("cluster-admin-cluster-ingress", "cluster-cluster")


def test_build_exports_every_output(dev: Evaluation) -> None:
    assert set(dev.outputs) == {*OUTPUT_NAMES, "caPrivateKey"}
    assert all(value is not None for value in dev.outputs.values())
    assert dev.outputs["kmsKeyAlias"] == "alias/fips-keystore-test"
    assert len(dev.outputs["hsmIds"]) == len(dev.outputs["hsmIps"]) == 2
    assert dev.outputs["trustAnchorCertificate"] == FAKE_PEM


def test_build_marks_the_ca_private_key_output_secret(dev: Evaluation) -> None:
    assert dev.secret_outputs == {"caPrivateKey"}


def test_build_omits_ca_private_key_when_the_ca_is_supplied() -> None:
    ca = generate_ca("Supplied CA", "Example", 2048, 365)
    evaluation = evaluate(
        config_of(caCertificate=ca.certificate_pem, caPrivateKey=ca.private_key_pem)
    )

    assert "caPrivateKey" not in evaluation.outputs
    assert evaluation.secret_inputs_of("cluster-customer-ca") >= {
        "supplied_private_key_pem"
    }


def test_build_declares_secret_outputs_of_every_secret_holder(
    dev: Evaluation,
) -> None:
    expected = {
        "cluster-admin-password": "value",
        "cluster-kmsuser-password": "value",
        "cluster-customer-ca": "private_key_pem",
        "cluster-admin-secret-value": "secretString",
        "cluster-kmsuser-secret-value": "secretString",
        "key-store-store": "keyStorePassword",
    }

    for name, output in expected.items():
        assert output in dev.options[name].additional_secret_outputs, name


def test_build_passes_passwords_and_keys_only_as_secrets(dev: Evaluation) -> None:
    assert "secret_string" in dev.secret_inputs_of("cluster-admin-secret-value")
    assert "secret_string" in dev.secret_inputs_of("cluster-kmsuser-secret-value")
    assert "key_store_password" in dev.secret_inputs_of("key-store-store")
    assert "ca_private_key_pem" in dev.secret_inputs_of("cluster-csr-signing")


def test_build_passes_configured_passwords_as_secrets() -> None:
    evaluation = evaluate(
        config_of(adminPassword="Adm1nPassw0rd", kmsuserPassword="Kms0Password")
    )

    assert "cluster-admin-password" not in evaluation.registrations
    assert "secret_string" in evaluation.secret_inputs_of("cluster-admin-secret-value")
    assert "key_store_password" in evaluation.secret_inputs_of("key-store-store")


def test_build_protects_the_key_only_when_configured(dev: Evaluation) -> None:
    protected = evaluate(config_of(protectKeys=True))

    assert protected.options["key-store-key"].protect is True
    assert dev.options["key-store-key"].protect is False


def test_build_retains_the_key_store_record_on_delete(dev: Evaluation) -> None:
    assert dev.options["key-store-store"].retain_on_delete is True
    assert not dev.options["key-store-key"].retain_on_delete


def test_build_puts_config_timeouts_into_provider_inputs() -> None:
    evaluation = evaluate(config_of(waitTimeoutMinutes=30, connectTimeoutMinutes=20))

    for name in (
        "cluster-csr-signing",
        "cluster-initialization",
        "cluster-activation",
        "cluster-kmsuser",
        "cluster-coverage",
    ):
        assert evaluation.inputs[name]["timeout_seconds"] == 1800, name
    assert evaluation.inputs["key-store-connection"]["timeout_seconds"] == 1200


def test_build_makes_a_private_imdsv2_instance_installing_the_cli(
    dev: Evaluation,
) -> None:
    instance = dev.inputs["cluster-admin-instance"]

    assert instance["associatePublicIpAddress"] is False
    assert instance["metadataOptions"]["httpTokens"] == "required"
    assert instance["rootBlockDevice"] == {"encrypted": True, "volumeType": "gp3"}
    assert instance["instanceType"] == "t3.micro"
    assert instance["ami"] == "ami-0123456789abcdef0"
    assert (
        "dnf install -y https://s3.amazonaws.com/cloudhsmv2-software/"
        in (instance["userData"])
    )
    assert "cloudhsm-cli-latest.amzn2023.x86_64.rpm" in instance["userData"]
    assert "BEGIN CERTIFICATE" not in instance["userData"]


def test_build_opens_only_hsm_ports_and_https(dev: Evaluation) -> None:
    https = dev.inputs["cluster-admin-egress-https"]
    to_hsm = dev.inputs["cluster-admin-egress-hsm"]
    ingress = dev.inputs["cluster-admin-cluster-ingress"]
    cluster_sg = dev.outputs["clusterSecurityGroupId"]
    client_sg = dev.outputs["clientSecurityGroupId"]

    assert (https["fromPort"], https["toPort"], https["cidrIpv4"]) == (
        443,
        443,
        "0.0.0.0/0",
    )
    assert (to_hsm["fromPort"], to_hsm["toPort"]) == (2223, 2225)
    assert to_hsm["referencedSecurityGroupId"] == cluster_sg
    assert ingress["securityGroupId"] == cluster_sg
    assert ingress["referencedSecurityGroupId"] == client_sg
    assert "ingress" not in dev.inputs["cluster-admin-sg"]


def test_build_lets_the_role_read_exactly_the_two_password_secrets(
    dev: Evaluation,
) -> None:
    policy = json.loads(dev.inputs["cluster-admin-read-passwords"]["policy"])
    secret_arns = {
        dev.outputs["adminPasswordSecretArn"],
        dev.inputs["cluster-kmsuser-secret-value"]["secretId"],
    }

    (statement,) = policy["Statement"]
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    assert set(statement["Resource"]) == secret_arns and len(secret_arns) == 2


def test_build_makes_a_symmetric_key_administered_by_the_account_root(
    dev: Evaluation,
) -> None:
    key = dev.inputs["key-store-key"]
    policy = json.loads(key["policy"])

    assert key["customerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert key["customKeyStoreId"] == dev.outputs["customKeyStoreId"]
    assert key["deletionWindowInDays"] == 30
    assert policy["Statement"][0]["Principal"] == {
        "AWS": "arn:aws:iam::123456789012:root"
    }


def test_build_spreads_new_private_subnets_over_distinct_zones() -> None:
    evaluation = evaluate(config_of(hsmCount=3))

    zones = [
        evaluation.inputs[f"network-private-{index}"]["availabilityZone"]
        for index in range(3)
    ]
    hsm_subnets = {
        evaluation.inputs[f"cluster-hsm-{index}"]["subnetId"] for index in range(3)
    }
    assert len(set(zones)) == 3 and len(hsm_subnets) == 3
    assert evaluation.depends_on("cluster-hsm-2", "cluster-kmsuser")


def test_build_rejects_a_region_with_too_few_zones() -> None:
    with pytest.raises(NetworkError) as caught:
        evaluate(config_of(hsmCount=3), CloudMocks(zones=["us-east-1a", "us-east-1b"]))

    message = str(caught.value)
    assert "has 2 available availability zone(s)" in message
    assert "needs 3" in message and "pulumi config set hsmCount" in message


def test_build_uses_the_given_subnets_without_creating_a_network() -> None:
    evaluation = evaluate(config_of(vpcId=GIVEN_VPC_ID, subnetIds=SUBNETS))

    created = [r.type for r in evaluation.registrations.values()]
    assert "aws:ec2/vpc:Vpc" not in created and "aws:ec2/subnet:Subnet" not in created
    assert evaluation.inputs["cluster-cluster"]["subnetIds"] == SUBNETS
    assert evaluation.inputs["cluster-admin-sg"]["vpcId"] == GIVEN_VPC_ID


def test_build_rejects_given_subnets_in_one_zone() -> None:
    subnets = ["subnet-0aaa1111", "subnet-0ccc3333"]

    with pytest.raises(NetworkError) as caught:
        evaluate(config_of(vpcId=GIVEN_VPC_ID, subnetIds=subnets))

    message = str(caught.value)
    assert "subnet-0aaa1111 and subnet-0ccc3333 are both in availability zone" in (
        message
    )
    assert "pulumi config set --path 'subnetIds[N]'" in message


def test_build_rejects_given_subnets_of_another_vpc() -> None:
    subnets = ["subnet-0aaa1111", "subnet-0ddd4444"]

    with pytest.raises(NetworkError) as caught:
        evaluate(config_of(vpcId=GIVEN_VPC_ID, subnetIds=subnets))

    assert f"subnetIds subnet-0ddd4444 are not in vpcId {GIVEN_VPC_ID}" in str(
        caught.value
    )


def test_build_adopts_an_existing_cluster_without_initializing_it() -> None:
    evaluation = evaluate(
        config_of(
            clusterId="cluster-abcdefghijk",
            adminPassword="Adm1nPassw0rd",
            caCertificate=FAKE_PEM,
            vpcId=GIVEN_VPC_ID,
            subnetIds=SUBNETS,
        )
    )

    cluster = evaluation.registrations["cluster-cluster"]
    assert cluster.read is True
    assert "cluster-csr-signing" not in evaluation.registrations
    assert "cluster-initialization" not in evaluation.registrations
    assert evaluation.depends_on("cluster-activation", "cluster-hsm-0")
    assert "caPrivateKey" not in evaluation.outputs
    assert (
        "BEGIN CERTIFICATE" in evaluation.inputs["cluster-admin-instance"]["userData"]
    )
    assert evaluation.depends_on("cluster-hsm-1", "cluster-kmsuser")


def test_build_checks_coverage_after_kmsuser_with_a_single_hsm() -> None:
    evaluation = evaluate(config_of(hsmCount=1, createKeyStore=False))

    assert evaluation.depends_on("cluster-coverage", "cluster-kmsuser")


def test_build_restores_a_backup_without_initializing_it() -> None:
    evaluation = evaluate(
        config_of(
            sourceBackupId="backup-abcdefghijk",
            adminPassword="Adm1nPassw0rd",
            caCertificate=FAKE_PEM,
        )
    )

    cluster = evaluation.inputs["cluster-cluster"]
    assert cluster["sourceBackupIdentifier"] == "backup-abcdefghijk"
    assert "cluster-csr-signing" not in evaluation.registrations
    assert "cluster-initialization" not in evaluation.registrations


def test_build_without_key_store_makes_no_kms_resources() -> None:
    evaluation = evaluate(config_of(createKeyStore=False, hsmCount=1))

    assert not [t for t in evaluation.registrations.values() if "kms" in t.type]
    assert evaluation.outputs["kmsKeyArn"] is None
    assert evaluation.outputs["clusterId"].startswith("cluster-")


def test_dev_stack_file_evaluates_in_under_two_seconds() -> None:
    import time

    config = load_stack_config(stack_file("Pulumi.dev.yaml")["config"], stack="dev")

    started = time.perf_counter()
    evaluation = evaluate(config)
    elapsed = time.perf_counter() - started

    assert elapsed < 2.0, f"dev stack took {elapsed:.2f}s under mocks"
    assert len(evaluation.outputs["hsmIds"]) == 2
    assert evaluation.options["key-store-key"].protect is False


def test_dev_stack_file_holds_no_secret_values() -> None:
    config = stack_file("Pulumi.dev.yaml")["config"]

    assert config["aws:region"] == "us-east-1"
    for key in ("adminPassword", "kmsuserPassword", "caPrivateKey"):
        assert f"fips-keystore:{key}" not in config


def test_prod_stack_file_evaluates_with_root_certificates(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    for name in ("aws-cloudhsm-root-g1.pem", "manufacturer-root.pem"):
        (tmp_path / "certs" / name).write_text(FAKE_PEM)
    config = load_stack_config(
        stack_file("Pulumi.prod.yaml")["config"], stack="prod", base_dir=tmp_path
    )

    evaluation = evaluate(config)

    signing = evaluation.inputs["cluster-csr-signing"]
    assert signing["require_identity"] is True
    assert signing["aws_root_certificate_pem"] == FAKE_PEM
    assert evaluation.inputs["cluster-customer-ca"]["key_bits"] == 4096
    dev = load_stack_config(stack_file("Pulumi.dev.yaml")["config"], stack="dev")
    assert evaluation.inputs["cluster-backup-retention"]["days"] == 365
    assert evaluation.inputs["cluster-backup-retention"]["days"] > (
        dev.backup_retention_days
    )
    assert evaluation.options["key-store-key"].protect is True
    zones = {
        evaluation.inputs[f"network-private-{i}"]["availabilityZone"] for i in range(3)
    }
    assert len(zones) == 3 and len(evaluation.outputs["hsmIds"]) == 3


def test_prod_stack_file_without_root_certificates_says_where_to_put_them(
    tmp_path: Path,
) -> None:
    from stack_config import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_stack_config(
            stack_file("Pulumi.prod.yaml")["config"], stack="prod", base_dir=tmp_path
        )

    message = str(caught.value)
    assert "awsRootCertificateFile = 'certs/aws-cloudhsm-root-g1.pem'" in message
    assert "manufacturerRootCertificateFile = 'certs/manufacturer-root.pem'" in message
    assert "save it at that path" in message


def test_project_file_runs_python_from_the_virtualenv() -> None:
    project = stack_file("Pulumi.yaml")

    assert project["name"] == "fips-keystore"
    assert project["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": ".venv"},
    }
    assert project["description"]


def test_main_exports_exactly_the_contract_outputs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import runpy

    import pulumi
    from pulumi.runtime import config as runtime_config

    exported: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", exported.__setitem__)
    dev_config = stack_file("Pulumi.dev.yaml")["config"]
    runtime_config.set_all_config(
        {key: engine_text(value) for key, value in dev_config.items()}, []
    )

    def run_main(_config: StackConfig) -> dict[str, Any]:
        runpy.run_path(str(ROOT_DIR / "__main__.py"))
        return exported

    evaluation = evaluate(config_of(), program=run_main)

    assert set(exported) == {*OUTPUT_NAMES, "caPrivateKey"}
    assert evaluation.options["key-store-key"].protect is False
    assert evaluation.inputs["cluster-cluster"]["tags"]["environment"] == "dev"


def engine_text(value: Any) -> str:
    """Config as the Pulumi engine hands it to a program: text, objects as JSON."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
