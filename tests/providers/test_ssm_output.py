"""Parsing cloudhsm-cli replies and masking secrets in SSM command output."""

from __future__ import annotations

import pytest

from providers import _cloudhsm_cli as cli
from providers.errors import HsmCommandFailed
from providers.ssm_commands import CommandResult, cli_data, cli_replies, mask

PRETTY_LIST = """{
  "error_code": 0,
  "data": {
    "users": [
      {"username": "admin", "role": "admin", "cluster-coverage": "full"},
      {"username": "kmsuser", "role": "crypto-user", "cluster-coverage": "partial"}
    ]
  }
}"""


def test_cli_replies_reads_pretty_and_single_line_json_between_other_output() -> None:
    stdout = (
        "configured 2 HSMs\n"
        '{"error_code": 0, "data": "activated"}\n'
        "noise {not json}\n" + PRETTY_LIST + "\n"
    )

    replies = cli_replies(stdout)

    assert [reply["data"] for reply in replies][0] == "activated"
    assert replies[1]["data"]["users"][1]["username"] == "kmsuser"
    assert len(replies) == 2


def test_cli_data_raises_with_the_cli_message_on_error() -> None:
    stdout = '{"error_code": 1, "data": "User kmsuser already exists"}'

    with pytest.raises(HsmCommandFailed) as raised:
        cli_data(stdout, "user create")

    assert str(raised.value) == (
        "`cloudhsm-cli user create` failed with error_code 1: User kmsuser already "
        "exists. Run it by hand on the admin instance to see why, then run "
        "`pulumi up` again."
    )


def test_cli_data_without_reply_says_what_to_do() -> None:
    with pytest.raises(HsmCommandFailed) as raised:
        cli_data("bash: cloudhsm-cli: command not found", "user list")

    assert "printed no JSON reply" in str(raised.value)


def test_users_from_reads_cluster_coverage() -> None:
    result = CommandResult("c", "i", "Success", 0, PRETTY_LIST, "")

    users = cli.users_from(result)

    assert users == [
        cli.HsmUser("admin", "admin", "full"),
        cli.HsmUser("kmsuser", "crypto-user", "partial"),
    ]


def test_mask_replaces_every_secret() -> None:
    text = "login admin:Pa55word failed; Pa55word rejected; other"

    assert mask(text, ["Pa55word", ""]) == (
        "login admin:******** failed; ******** rejected; other"
    )


def test_activation_script_keeps_password_off_arguments() -> None:
    from providers.cluster_activation import activation_script

    script = activation_script(
        {
            "trust_anchor_pem": "-----BEGIN CERTIFICATE-----\nAAA\n"
            "-----END CERTIFICATE-----\n",
            "hsm_ip": "10.0.1.5",
            "admin_password_secret_arn": "arn:aws:secretsmanager:us-east-1:"
            "123456789012:secret:admin-AbCdEf",
        },
        already_active=False,
    )

    assert script.startswith("#!/bin/bash\nset -euo pipefail\n")
    assert "set -x" not in script
    assert "/opt/cloudhsm/bin/configure-cli -a 10.0.1.5\n" in script
    assert 'printf \'%s\\n%s\\n\' "$ADMIN_PW" "$ADMIN_PW" | ' in script
    assert "cluster activate" in script
    assert "--password" not in script


def test_configure_client_rejects_non_ip() -> None:
    with pytest.raises(HsmCommandFailed) as raised:
        cli.configure_client(["10.0.0.1", "10.0.0.1; rm -rf /"])

    assert str(raised.value).startswith(
        "HSM IP address '10.0.0.1; rm -rf /' is not an IPv4 address"
    )
