"""The cloudhsm-cli and configure-cli simulators, driven as the product drives
them: shell scripts sent through SSM Run Command to the admin instance."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from rehearsal.emulator import Emulator
from rehearsal.emulator.instances import sandbox_path

from ._cloudhsm_setup import (
    ClusterSetup,
    add_hsm,
    create_cluster,
    describe_cluster,
    initialize_cluster,
    launch_admin_instance,
    make_test_ca,
    run_script,
)

ADMIN_PASSWORD = "AdminPassw0rd"
KMSUSER_PASSWORD = "KmsUserPassw0rd"
CLI = "/opt/cloudhsm/bin/cloudhsm-cli"
CONFIGURE = "/opt/cloudhsm/bin/configure-cli"
TRUST_ANCHOR = "/opt/cloudhsm/etc/customerCA.crt"


@pytest.fixture(autouse=True)
def aws_managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


@pytest.fixture
def setup(emulator: Emulator) -> ClusterSetup:
    """An initialized cluster with one ACTIVE HSM, an online admin instance, and
    the passwords in Secrets Manager."""
    cluster = create_cluster(emulator)
    initialize_cluster(cluster)
    launch_admin_instance(cluster)
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name="admin", SecretString=ADMIN_PASSWORD)
    secrets.create_secret(Name="kmsuser", SecretString=KMSUSER_PASSWORD)
    return cluster


def install_client(setup: ClusterSetup, trust_anchor_pem: str | None = None) -> str:
    """Script lines writing the trust anchor and configuring all HSM addresses."""
    pem = trust_anchor_pem or setup.ca.pem
    return (
        f"cat > {TRUST_ANCHOR} <<'EOF'\n{pem.strip()}\nEOF\n"
        f"{CONFIGURE} -a {' '.join(setup.hsm_ips())}"
    )


def fetch(variable: str, secret: str) -> str:
    return (
        f"{variable}=$(aws secretsmanager get-secret-value --secret-id {secret} "
        "--query SecretString --output text)"
    )


def twice(variable: str) -> str:
    return f'printf \'%s\\n%s\\n\' "${variable}" "${variable}" | '


AS_ADMIN = 'export CLOUDHSM_ROLE=admin CLOUDHSM_PIN="admin:$ADMIN"'


def reply(invocation: dict[str, Any]) -> dict[str, Any]:
    """The last JSON reply cloudhsm-cli printed."""
    text = invocation["StandardOutputContent"]
    decoder = json.JSONDecoder()
    replies = []
    position = text.find("{")
    while position != -1:
        document, end = decoder.raw_decode(text, position)
        replies.append(document)
        position = text.find("{", end)
    return dict(replies[-1])


def activate(setup: ClusterSetup) -> dict[str, Any]:
    return run_script(
        setup,
        install_client(setup),
        fetch("ADMIN", "admin"),
        f"{twice('ADMIN')}{CLI} cluster activate",
    )


def create_kmsuser(setup: ClusterSetup) -> dict[str, Any]:
    return run_script(
        setup,
        fetch("ADMIN", "admin"),
        fetch("KMSUSER", "kmsuser"),
        AS_ADMIN,
        f"{twice('KMSUSER')}{CLI} user create --username kmsuser --role crypto-user",
    )


def list_users(setup: ClusterSetup) -> dict[str, dict[str, Any]]:
    result = run_script(setup, fetch("ADMIN", "admin"), AS_ADMIN, f"{CLI} user list")
    return {u["username"]: u for u in reply(result)["data"]["users"]}


def test_cluster_activate_makes_cluster_active(setup: ClusterSetup) -> None:
    result = activate(setup)

    assert (result["Status"], reply(result)["error_code"]) == ("Success", 0)
    assert describe_cluster(setup.cluster_id)["State"] == "ACTIVE"
    assert "Enter password:" in result["StandardErrorContent"]


def test_cluster_activate_refuses_missing_trust_anchor(setup: ClusterSetup) -> None:
    result = run_script(
        setup,
        f"{CONFIGURE} -a {setup.hsm_ips()[0]}",
        fetch("ADMIN", "admin"),
        f"{twice('ADMIN')}{CLI} cluster activate",
    )

    assert (result["Status"], result["ResponseCode"]) == ("Failed", 1)
    assert reply(result)["error_code"] == 1
    assert "customerCA.crt is missing" in reply(result)["data"]
    assert describe_cluster(setup.cluster_id)["State"] == "INITIALIZED"


def test_cluster_activate_refuses_other_trust_anchor(setup: ClusterSetup) -> None:
    other_ca = make_test_ca("someone else's CA")

    result = run_script(
        setup,
        install_client(setup, other_ca.pem),
        fetch("ADMIN", "admin"),
        f"{twice('ADMIN')}{CLI} cluster activate",
    )

    assert reply(result)["error_code"] == 1
    assert "not the trust anchor" in reply(result)["data"]
    assert setup.cluster_id in reply(result)["data"]


def test_cloudhsm_cli_refuses_unconfigured_client(setup: ClusterSetup) -> None:
    result = run_script(setup, f"{CLI} user list")

    assert result["ResponseCode"] == 1
    assert "configure-cli -a" in reply(result)["data"]


def test_cloudhsm_cli_refuses_address_of_no_hsm(setup: ClusterSetup) -> None:
    result = run_script(
        setup,
        install_client(setup),
        f"{CONFIGURE} -a 10.99.99.99",
        f"{CLI} user list",
    )

    assert reply(result)["error_code"] == 1
    assert "10.99.99.99" in reply(result)["data"]


def test_user_create_adds_crypto_user_with_full_coverage(setup: ClusterSetup) -> None:
    activate(setup)

    result = create_kmsuser(setup)
    users = list_users(setup)

    assert reply(result) == {
        "error_code": 0,
        "data": {"username": "kmsuser", "role": "crypto-user"},
    }
    assert users["kmsuser"]["role"] == "crypto-user"
    assert users["kmsuser"]["cluster-coverage"] == "full"


def test_user_create_refuses_mismatched_password_prompts(setup: ClusterSetup) -> None:
    activate(setup)

    result = run_script(
        setup,
        fetch("ADMIN", "admin"),
        AS_ADMIN,
        f"printf 'Passw0rdOne\\nPassw0rdTwo\\n' | {CLI} user create "
        "--username kmsuser --role crypto-user",
    )

    assert reply(result)["error_code"] == 1
    assert "Passwords do not match" in reply(result)["data"]


def test_user_create_refuses_wrong_admin_password(setup: ClusterSetup) -> None:
    activate(setup)

    result = run_script(
        setup,
        fetch("KMSUSER", "kmsuser"),
        'export CLOUDHSM_ROLE=admin CLOUDHSM_PIN="admin:WrongPassw0rd"',
        f"{twice('KMSUSER')}{CLI} user create --username kmsuser --role crypto-user",
    )

    assert reply(result)["error_code"] == 1
    assert "invalid username, role or password" in reply(result)["data"]
    assert "kmsuser" not in list_users(setup)


def test_user_create_on_fewer_configured_hsms_gives_partial_coverage(
    setup: ClusterSetup,
) -> None:
    activate(setup)
    add_hsm(setup, "us-east-1b")
    first_ip = setup.hsm_ips()[0]

    run_script(setup, f"{CONFIGURE} -a {first_ip}")
    create_kmsuser(setup)
    run_script(setup, install_client(setup))
    users = list_users(setup)

    assert users["kmsuser"]["cluster-coverage"] == "partial"
    assert users["admin"]["cluster-coverage"] == "full"


def test_user_delete_removes_user(setup: ClusterSetup) -> None:
    activate(setup)
    create_kmsuser(setup)

    result = run_script(
        setup,
        fetch("ADMIN", "admin"),
        AS_ADMIN,
        f"{CLI} user delete --username kmsuser --role crypto-user",
    )

    assert reply(result)["error_code"] == 0
    assert "kmsuser" not in list_users(setup)


def test_user_change_password_changes_login(setup: ClusterSetup) -> None:
    activate(setup)
    create_kmsuser(setup)
    simulator = setup.emulator.models.cloudhsm.hsm_simulator(setup.cluster_id)

    run_script(
        setup,
        fetch("ADMIN", "admin"),
        AS_ADMIN,
        "NEW=NewKmsPassw0rd",
        f"{twice('NEW')}{CLI} user change-password --username kmsuser "
        "--role crypto-user",
    )

    assert simulator.verify_password("kmsuser", "NewKmsPassw0rd")
    assert not simulator.verify_password("kmsuser", KMSUSER_PASSWORD)


def test_cluster_hsm_info_lists_configured_hsms(setup: ClusterSetup) -> None:
    activate(setup)

    result = run_script(setup, f"{CLI} cluster hsm-info")

    hsms = reply(result)["data"]["hsms"]
    assert [(h["hsm-id"], h["eni-ip"]) for h in hsms] == [
        (setup.hsm_ids[0], setup.hsm_ips()[0])
    ]


def test_cloudhsm_cli_unknown_command_fails_with_usage(setup: ClusterSetup) -> None:
    result = run_script(setup, f"{CLI} key list")

    assert result["ResponseCode"] == 2
    assert "unrecognized subcommand 'key list'" in result["StandardErrorContent"]


def test_simulators_log_argv_without_passwords(setup: ClusterSetup) -> None:
    activate(setup)
    create_kmsuser(setup)

    log = sandbox_path(setup.emulator.workdir, setup.instance_id) / "argv.log"
    lines = [json.loads(line) for line in log.read_text().splitlines()]

    assert [line[1:3] for line in lines if line[0].endswith("cloudhsm-cli")] == [
        ["cluster", "activate"],
        ["user", "create"],
    ]
    assert ADMIN_PASSWORD not in log.read_text()
    assert KMSUSER_PASSWORD not in log.read_text()
