"""Validation of every stack config key: defaults, good values, and bad ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import config as runtime_config

from stack_config import ConfigError, StackConfig, load_stack_config
from tests.providers import pki

ROOT_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
CA_PEM = ROOT_PEM
CA_KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"
SUBNETS = ["subnet-0aaa1111", "subnet-0bbb2222"]
# Well-formed CAs that CloudHSM would refuse as a trust anchor.
_SMALL_KEY, _LEAF_KEY, _OTHER_KEY = pki.rsa_key(1024), pki.rsa_key(), pki.rsa_key()
SMALL_CA = {
    "caCertificate": pki.pem(pki.certificate("Small CA", _SMALL_KEY)),
    "caPrivateKey": pki.key_pem(_SMALL_KEY),
}
LEAF_CA = {
    "caCertificate": pki.pem(pki.certificate("Leaf", _LEAF_KEY, ca=False)),
    "caPrivateKey": pki.key_pem(_LEAF_KEY),
}
MISMATCHED_CA = {
    "caCertificate": pki.pem(pki.certificate("Root", _LEAF_KEY)),
    "caPrivateKey": pki.key_pem(_OTHER_KEY),
}


def load(values: dict[str, Any], base_dir: Path | None = None) -> StackConfig:
    return load_stack_config(values, stack="test", base_dir=base_dir)


def rejection(values: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        load(values)
    return str(caught.value)


# (config, key that must be named, words of the allowed values that must appear)
BAD_CONFIGS: list[tuple[dict[str, Any], str, str]] = [
    ({"vpcId": "vpc-xyz"}, "vpcId", "a VPC id like vpc-"),
    ({"vpcId": "vpc-0abc1234"}, "subnetIds", "at least 2 subnets"),
    ({"subnetIds": SUBNETS}, "vpcId", "required with subnetIds"),
    (
        {
            "vpcId": "vpc-0abc1234",
            "subnetIds": ["subnet-0aaa1111"],
            "hsmCount": 1,
            "createKeyStore": False,
        },
        "subnetIds",
        "at least 2 subnets",
    ),
    (
        {"vpcId": "vpc-0abc1234", "subnetIds": [SUBNETS[0], SUBNETS[0]]},
        "subnetIds",
        "distinct subnet ids",
    ),
    (
        {"vpcId": "vpc-0abc1234", "subnetIds": "subnet-0aaa1111"},
        "subnetIds",
        "a list of subnet ids",
    ),
    (
        {"vpcId": "vpc-0abc1234", "subnetIds": ["sn-1", "sn-2"]},
        "subnetIds",
        "a list of subnet ids",
    ),
    ({"vpcCidr": "10.42.0.0/8"}, "vpcCidr", "/16 to /24"),
    ({"vpcCidr": "not-a-cidr"}, "vpcCidr", "IPv4 CIDR block"),
    ({"vpcCidr": "fd00::/64"}, "vpcCidr", "IPv4 CIDR block"),
    ({"hsmType": "hsm1.medium"}, "hsmType", "hsm1.medium can no longer be used"),
    ({"hsmType": "hsm9.huge"}, "hsmType", "one of hsm2m.medium"),
    ({"mode": "fips"}, "mode", "one of FIPS, NON_FIPS"),
    ({"hsmCount": 7}, "hsmCount", "from 1 to 6"),
    ({"hsmCount": "two"}, "hsmCount", "whole number from 1 to 6"),
    ({"hsmCount": 2.5}, "hsmCount", "whole number from 1 to 6"),
    ({"hsmCount": True}, "hsmCount", "whole number from 1 to 6"),
    ({"hsmCount": 1}, "hsmCount", "2 to 6 when createKeyStore is true"),
    (
        {"vpcId": "vpc-0abc1234", "subnetIds": SUBNETS, "hsmCount": 3},
        "hsmCount",
        "at most 2",
    ),
    ({"backupRetentionDays": 6}, "backupRetentionDays", "from 7 to 379"),
    ({"backupRetentionDays": 380}, "backupRetentionDays", "from 7 to 379"),
    ({"caKeyBits": 1024}, "caKeyBits", "one of 2048, 4096"),
    ({"caKeyBits": "big"}, "caKeyBits", "one of 2048, 4096"),
    ({"caCommonName": ""}, "caCommonName", "1 to 64 printable"),
    ({"caOrganization": "x" * 65}, "caOrganization", "1 to 64 printable"),
    ({"caValidityDays": 100}, "caValidityDays", "from 365 to 7300"),
    (
        {"caCertificate": "not a pem", "caPrivateKey": CA_KEY},
        "caCertificate",
        "-----BEGIN CERTIFICATE-----",
    ),
    ({"caCertificate": CA_PEM}, "caPrivateKey", "both or neither"),
    ({"caPrivateKey": CA_KEY}, "caCertificate", "both or neither"),
    (
        {"caCertificate": CA_PEM, "caPrivateKey": "nope"},
        "caPrivateKey",
        "PEM private key",
    ),
    (SMALL_CA, "caCertificate", "its RSA key has 1024 bits"),
    (LEAF_CA, "caCertificate", "it is not a CA certificate"),
    (MISMATCHED_CA, "caCertificate", "the private key does not belong"),
    (
        {"requireHsmIdentity": True},
        "awsRootCertificateFile",
        "required when requireHsmIdentity is true",
    ),
    (
        {"requireHsmIdentity": True},
        "manufacturerRootCertificateFile",
        "required when requireHsmIdentity is true",
    ),
    ({"requireHsmIdentity": "yes"}, "requireHsmIdentity", "true or false"),
    (
        {"awsRootCertificateFile": "certs/absent.pem"},
        "awsRootCertificateFile",
        "readable PEM certificate file",
    ),
    ({"adminPassword": "short"}, "adminPassword", "7 to 32 printable"),
    ({"adminPassword": "has spaces in it"}, "adminPassword", "without spaces"),
    (
        {"kmsuserPassword": "not-alpha-numeric"},
        "kmsuserPassword",
        "7 to 32 letters and digits",
    ),
    ({"kmsuserPassword": "x" * 33}, "kmsuserPassword", "7 to 32 letters"),
    ({"instanceType": "T3 Micro"}, "instanceType", "EC2 instance type"),
    ({"instanceType": "t4g.micro"}, "instanceType", "t4g.micro is Arm (Graviton)"),
    ({"instanceType": "c6gn.large"}, "instanceType", "x86_64 EC2 instance type"),
    ({"amiId": "ubuntu"}, "amiId", "an AMI id like ami-"),
    ({"createKeyStore": "maybe"}, "createKeyStore", "true or false"),
    ({"keyStoreName": "has space"}, "keyStoreName", "1 to 256 letters"),
    ({"keyAlias": "fips-key"}, "keyAlias", "starting with alias/"),
    ({"keyAlias": "alias/aws/fips"}, "keyAlias", "not alias/aws/"),
    ({"keyDeletionWindowDays": 6}, "keyDeletionWindowDays", "from 7 to 30"),
    ({"keyDeletionWindowDays": 31}, "keyDeletionWindowDays", "from 7 to 30"),
    ({"protectKeys": 1}, "protectKeys", "true or false"),
    ({"waitTimeoutMinutes": 5}, "waitTimeoutMinutes", "from 10 to 240"),
    ({"connectTimeoutMinutes": 500}, "connectTimeoutMinutes", "from 10 to 240"),
    ({"tags": ["a"]}, "tags", "map of at most 49 tag keys"),
    (
        {"tags": {f"team-{n}": "x" for n in range(50)}},
        "tags",
        "AWS takes 50 tags per resource and the stack adds one",
    ),
    ({"tags": {"aws:owner": "me"}}, "tags", "not starting with aws:"),
    ({"tags": {"team": 7}}, "tags", "string values"),
    ({"tags": "{not json"}, "tags", "map of at most 49 tag keys"),
    ({"clusterId": "cluster-1"}, "clusterId", "cluster id like"),
    ({"sourceBackupId": "bkp-1"}, "sourceBackupId", "backup id like"),
    (
        {
            "clusterId": "cluster-abcdefghijk",
            "sourceBackupId": "backup-abcdefghijk",
            "adminPassword": "Passw0rd!",
            "caCertificate": CA_PEM,
            "vpcId": "vpc-0abc1234",
            "subnetIds": SUBNETS,
        },
        "sourceBackupId",
        "not allowed together with clusterId",
    ),
    (
        {"sourceBackupId": "backup-abcdefghijk", "caCertificate": CA_PEM},
        "adminPassword",
        "required with clusterId or sourceBackupId",
    ),
    (
        {"sourceBackupId": "backup-abcdefghijk", "adminPassword": "Passw0rd!"},
        "caCertificate",
        "the trust anchor that initialized",
    ),
    (
        {
            "clusterId": "cluster-abcdefghijk",
            "adminPassword": "Passw0rd!",
            "caCertificate": CA_PEM,
        },
        "vpcId",
        "required with clusterId",
    ),
    ({"hsmTypo": "hsm2m.medium"}, "hsmTypo", "unknown key; allowed keys are"),
]


@pytest.mark.parametrize(
    ("values", "key", "allowed"),
    BAD_CONFIGS,
    ids=[f"{case[1]}-{index}" for index, case in enumerate(BAD_CONFIGS)],
)
def test_load_rejects_bad_value(values: dict[str, Any], key: str, allowed: str) -> None:
    message = rejection(values)

    lines = [line for line in message.splitlines() if line.startswith(f"  {key} = ")]
    assert lines, message
    assert any(allowed in line for line in lines), message
    assert all("Fix: pulumi config" in line for line in lines), message


def test_load_defaults_match_a_dev_stack() -> None:
    config = load({})

    assert config.vpc_id is None and config.creates_network
    assert config.vpc_cidr == "10.42.0.0/16"
    assert (config.hsm_type, config.mode, config.hsm_count) == (
        "hsm2m.medium",
        "FIPS",
        2,
    )
    assert config.key_store_name == "fips-keystore-test"
    assert config.key_alias == "alias/fips-keystore-test"
    assert config.ca_common_name == "fips-keystore-test root CA"
    assert (config.key_deletion_window_days, config.protect_keys) == (30, True)
    assert (config.wait_timeout_seconds, config.connect_timeout_seconds) == (5400, 2700)
    assert config.instance_type == "t3.micro" and config.create_key_store
    assert config.initializes_cluster


def test_load_accepts_engine_strings_for_numbers_lists_and_maps() -> None:
    config = load(
        {
            "fips-keystore:vpcId": "vpc-0abc1234",
            "fips-keystore:subnetIds": '["subnet-0aaa1111", "subnet-0bbb2222"]',
            "fips-keystore:hsmCount": "2",
            "fips-keystore:protectKeys": "false",
            "fips-keystore:tags": '{"team": "platform"}',
            "aws:region": "us-east-1",
        }
    )

    assert config.subnet_ids == tuple(SUBNETS)
    assert config.hsm_count == 2 and config.protect_keys is False
    assert config.tags == {"team": "platform"}


def test_load_lists_every_bad_key_in_one_error() -> None:
    message = rejection({"hsmCount": 9, "mode": "x", "caKeyBits": 1})

    assert "3 invalid key(s)" in message
    for key in ("hsmCount", "mode", "caKeyBits"):
        assert f"  {key} = " in message


def test_load_rejects_bad_tags_with_a_config_set_command_that_works() -> None:
    message = rejection({"tags": ["a"]})

    assert "Fix: pulumi config set --path tags.team platform" in message


def test_load_never_echoes_a_secret_value() -> None:
    message = rejection(
        {
            "adminPassword": "bad pass word",
            "kmsuserPassword": "bad-kms-pw",
            "caCertificate": CA_PEM,
            "caPrivateKey": "secret key material",
        }
    )

    for secret in ("bad pass word", "bad-kms-pw", "secret key material"):
        assert secret not in message
    assert "adminPassword = <secret of 13 characters>" in message
    assert "kmsuserPassword = <secret of 10 characters>" in message
    assert "pulumi config set --secret adminPassword" in message


def test_load_hides_secrets_from_repr() -> None:
    config = load({"adminPassword": "Sup3rSecret", "kmsuserPassword": "Kms0Secret"})

    assert "Sup3rSecret" not in repr(config) and "Kms0Secret" not in repr(config)
    assert config.admin_password == "Sup3rSecret"


def test_load_reads_root_certificate_files(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "aws.pem").write_text(ROOT_PEM)
    (tmp_path / "certs" / "maker.pem").write_text(ROOT_PEM)

    config = load(
        {
            "requireHsmIdentity": True,
            "awsRootCertificateFile": "certs/aws.pem",
            "manufacturerRootCertificateFile": "certs/maker.pem",
        },
        base_dir=tmp_path,
    )

    assert config.aws_root_certificate_pem == ROOT_PEM
    assert config.manufacturer_root_certificate_pem == ROOT_PEM


def test_load_rejects_root_certificate_file_without_pem(tmp_path: Path) -> None:
    (tmp_path / "aws.pem").write_text("hello")

    with pytest.raises(ConfigError) as caught:
        load({"awsRootCertificateFile": "aws.pem"}, base_dir=tmp_path)

    assert "awsRootCertificateFile = 'aws.pem'" in str(caught.value)
    assert "no PEM certificate" in str(caught.value)


def test_load_allows_hsm1_only_when_adopting_a_cluster() -> None:
    config = load(
        {
            "clusterId": "cluster-abcdefghijk",
            "hsmType": "hsm1.medium",
            "adminPassword": "Passw0rd!",
            "caCertificate": CA_PEM,
            "vpcId": "vpc-0abc1234",
            "subnetIds": SUBNETS,
        }
    )

    assert config.hsm_type == "hsm1.medium" and not config.initializes_cluster


def test_load_reads_a_pulumi_config_and_its_secrets() -> None:
    runtime_config.set_all_config(
        {
            "fips-keystore:hsmCount": "3",
            "fips-keystore:adminPassword": "Passw0rd!",
        },
        ["fips-keystore:adminPassword"],
    )

    config = load_stack_config(pulumi.Config("fips-keystore"), stack="dev")

    assert config.hsm_count == 3 and config.admin_password == "Passw0rd!"


def test_load_rejects_a_secret_stored_in_plain_text() -> None:
    runtime_config.set_all_config({"fips-keystore:kmsuserPassword": "Abcdefg1"}, [])

    with pytest.raises(ConfigError) as caught:
        load_stack_config(pulumi.Config("fips-keystore"), stack="dev")

    message = str(caught.value)
    assert "kmsuserPassword = <stored in plain text>" in message
    assert "pulumi config set --secret kmsuserPassword" in message
    assert "Abcdefg1" not in message


def test_load_rejects_unknown_key_from_pulumi_config() -> None:
    runtime_config.set_all_config({"fips-keystore:hsmcount": "3"}, [])

    with pytest.raises(ConfigError) as caught:
        load_stack_config(pulumi.Config("fips-keystore"), stack="dev")

    assert "hsmcount = '3': unknown key" in str(caught.value)
