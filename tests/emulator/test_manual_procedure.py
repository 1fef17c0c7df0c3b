"""The whole manual procedure of the AWS guides, by hand with boto3 and the SSM
simulator, on the realistic timing profile: what the program automates must be
possible step by step, in this order, and tear down in the legal order."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from rehearsal.emulator import Emulator

from ._cloudhsm_setup import (
    ClusterSetup,
    add_hsm,
    describe_cluster,
    initialize_cluster,
    launch_admin_instance,
    make_network,
    make_test_ca,
    run_script,
)

ADMIN_PASSWORD = "ManualAdminPassw0rd"
KMSUSER_PASSWORD = "ManualKmsUserPassw0rd"
CLI = "/opt/cloudhsm/bin/cloudhsm-cli"
REAL_SECONDS_ALLOWED = 10.0
DAY = 86400


@pytest.fixture(autouse=True)
def aws_managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def last_reply(invocation: dict[str, Any]) -> dict[str, Any]:
    text = invocation["StandardOutputContent"]
    document, _end = json.JSONDecoder().raw_decode(text, text.rindex('{\n  "error'))
    return dict(document)


def secret_lines(admin_arn: str, kmsuser_arn: str | None = None) -> list[str]:
    lines = [
        f"ADMIN=$(aws secretsmanager get-secret-value --secret-id {admin_arn} "
        "--query SecretString --output text)",
        'export CLOUDHSM_ROLE=admin CLOUDHSM_PIN="admin:$ADMIN"',
    ]
    if kmsuser_arn:
        lines.append(
            f"KMSUSER=$(aws secretsmanager get-secret-value --secret-id {kmsuser_arn} "
            "--query SecretString --output text)"
        )
    return lines


def build_cluster(emulator: Emulator) -> ClusterSetup:
    """Network, cluster, first HSM, CSR signed by our CA, initialized."""
    _vpc_id, subnet_ids = make_network()
    setup = ClusterSetup(emulator, make_test_ca(), subnet_ids)
    setup.cluster_id = boto3.client("cloudhsmv2").create_cluster(
        HsmType="hsm2m.medium", SubnetIds=subnet_ids, Mode="FIPS"
    )["Cluster"]["ClusterId"]
    setup.wait(emulator.profile.cluster_create)
    add_hsm(setup, "us-east-1a")
    initialize_cluster(setup)
    return setup


def activate_and_create_kmsuser(
    setup: ClusterSetup, admin_arn: str, kmsuser_arn: str
) -> None:
    first_ip = setup.hsm_ips()[0]
    activated = run_script(
        setup,
        f"cat > /opt/cloudhsm/etc/customerCA.crt <<'EOF'\n{setup.ca.pem.strip()}\nEOF",
        f"/opt/cloudhsm/bin/configure-cli -a {first_ip}",
        *secret_lines(admin_arn),
        f'printf \'%s\\n%s\\n\' "$ADMIN" "$ADMIN" | {CLI} cluster activate',
    )
    created = run_script(
        setup,
        *secret_lines(admin_arn, kmsuser_arn),
        f'printf \'%s\\n%s\\n\' "$KMSUSER" "$KMSUSER" | {CLI} user create '
        "--username kmsuser --role crypto-user",
    )
    assert (activated["Status"], created["Status"]) == ("Success", "Success")


def coverage_after_second_hsm(setup: ClusterSetup, admin_arn: str) -> dict[str, str]:
    add_hsm(setup, "us-east-1b")
    listed = run_script(
        setup,
        f"/opt/cloudhsm/bin/configure-cli -a {' '.join(setup.hsm_ips())}",
        *secret_lines(admin_arn),
        f"{CLI} user list",
    )
    users = last_reply(listed)["data"]["users"]
    return {u["username"]: u["cluster-coverage"] for u in users}


def connect_key_store(setup: ClusterSetup) -> str:
    kms = boto3.client("kms")
    store_id = kms.create_custom_key_store(
        CustomKeyStoreName="manual-procedure",
        CloudHsmClusterId=setup.cluster_id,
        TrustAnchorCertificate=setup.ca.pem,
        KeyStorePassword=KMSUSER_PASSWORD,
    )["CustomKeyStoreId"]
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)
    setup.wait(setup.emulator.profile.key_store_connect)
    return str(store_id)


def tear_down(setup: ClusterSetup, store_id: str, key_id: str) -> None:
    """Schedule key deletion, disconnect, HSMs, cluster, instance."""
    profile = setup.emulator.profile
    kms, hsm_api = boto3.client("kms"), boto3.client("cloudhsmv2")
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=30)
    kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    setup.wait(profile.key_store_disconnect)
    for hsm_id in setup.hsm_ids:
        hsm_api.delete_hsm(ClusterId=setup.cluster_id, HsmId=hsm_id)
    setup.wait(profile.hsm_delete)
    hsm_api.delete_cluster(ClusterId=setup.cluster_id)
    setup.wait(profile.cluster_delete)
    boto3.client("ec2").terminate_instances(InstanceIds=[setup.instance_id])


def warm_up_moto() -> None:
    # moto builds its EC2 and IAM backends (AMIs, instance types, AWS managed
    # policies) on first use, seconds of set-up that no procedure step causes.
    boto3.client("ec2").describe_vpcs()
    boto3.client("iam").list_roles()


def test_manual_procedure_builds_and_tears_down_key_store(
    realistic_emulator: Emulator,
) -> None:
    warm_up_moto()
    started = time.monotonic()
    emulator = realistic_emulator
    kms = boto3.client("kms")

    setup = build_cluster(emulator)
    launch_admin_instance(setup)
    secrets = boto3.client("secretsmanager")
    admin_arn = secrets.create_secret(Name="admin", SecretString=ADMIN_PASSWORD)["ARN"]
    kmsuser_arn = secrets.create_secret(Name="kmsuser", SecretString=KMSUSER_PASSWORD)[
        "ARN"
    ]
    activate_and_create_kmsuser(setup, admin_arn, kmsuser_arn)
    coverage = coverage_after_second_hsm(setup, admin_arn)
    store_id = connect_key_store(setup)
    key_id = kms.create_key(CustomKeyStoreId=store_id, Origin="AWS_CLOUDHSM")[
        "KeyMetadata"
    ]["KeyId"]
    kms.create_alias(AliasName="alias/manual-procedure", TargetKeyId=key_id)
    ciphertext = kms.encrypt(KeyId="alias/manual-procedure", Plaintext=b"payload")
    plaintext = kms.decrypt(CiphertextBlob=ciphertext["CiphertextBlob"])["Plaintext"]
    built_state = describe_cluster(setup.cluster_id)["State"]

    tear_down(setup, store_id, key_id)
    cluster_after = describe_cluster(setup.cluster_id)["State"]
    emulator.clock.advance(30 * DAY)
    kms.delete_custom_key_store(CustomKeyStoreId=store_id)
    elapsed = time.monotonic() - started

    assert built_state == "ACTIVE"
    assert (coverage["admin"], coverage["kmsuser"]) == ("full", "full")
    assert plaintext == b"payload"
    assert cluster_after == "DELETED"
    assert kms.describe_custom_key_stores()["CustomKeyStores"] == []
    sent = json.dumps(boto3.client("ssm").list_commands()["Commands"], default=str)
    assert ADMIN_PASSWORD not in sent
    assert KMSUSER_PASSWORD not in sent
    assert emulator.clock.now() > 30 * DAY
    assert elapsed < REAL_SECONDS_ALLOWED, f"took {elapsed:.1f} s of real time"
