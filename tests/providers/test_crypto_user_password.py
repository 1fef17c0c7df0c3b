"""CryptoUserPassword through SSM and the cloudhsm-cli simulator."""

from __future__ import annotations

import json

import boto3
import pytest

from providers.crypto_user_password import CryptoUserPasswordProvider
from providers.errors import HsmCommandFailed
from rehearsal.emulator.hsm import HsmSimulator
from tests.providers.conftest import (
    ADMIN_PASSWORD,
    KMSUSER_PASSWORD,
    Chain,
    crypto_user_inputs,
)
from tests.providers.results import outs_of

ROTATED_PASSWORD = "RotatedByKms42"


def simulator_of(chain: Chain) -> HsmSimulator:
    return chain.emulator.cloudhsm.hsm_simulator(chain.cluster_id)


def test_create_sets_a_rotated_password_back_to_the_secret(
    cluster_with_kmsuser: Chain,
) -> None:
    simulator = simulator_of(cluster_with_kmsuser)
    simulator.change_password("kmsuser", "crypto-user", ROTATED_PASSWORD)

    result = CryptoUserPasswordProvider().create(
        crypto_user_inputs(cluster_with_kmsuser)
    )

    assert simulator.verify_password("kmsuser", KMSUSER_PASSWORD)
    assert not simulator.verify_password("kmsuser", ROTATED_PASSWORD)
    assert result.id == f"{cluster_with_kmsuser.cluster_id}-kmsuser"


def test_create_puts_no_password_in_ssm_parameters(
    cluster_with_kmsuser: Chain,
) -> None:
    CryptoUserPasswordProvider().create(crypto_user_inputs(cluster_with_kmsuser))

    commands = boto3.client("ssm").list_commands()["Commands"]
    listed = json.dumps(commands, default=str)
    assert "change-password" in listed
    assert KMSUSER_PASSWORD not in listed
    assert ADMIN_PASSWORD not in listed


def test_create_without_the_user_fails_naming_it(activated_cluster: Chain) -> None:
    with pytest.raises(HsmCommandFailed) as raised:
        CryptoUserPasswordProvider().create(crypto_user_inputs(activated_cluster))

    assert str(raised.value) == (
        f"User kmsuser does not exist on cluster {activated_cluster.cluster_id}, so "
        "its password cannot be set. Create it first (the CryptoUser resource "
        "does), then run `pulumi up` again."
    )


def test_update_records_new_inputs_without_pushing_them(
    cluster_with_kmsuser: Chain,
) -> None:
    inputs = crypto_user_inputs(cluster_with_kmsuser)
    simulator = simulator_of(cluster_with_kmsuser)
    simulator.change_password("kmsuser", "crypto-user", ROTATED_PASSWORD)
    news = {**inputs, "password_secret_arn": inputs["admin_password_secret_arn"]}

    result = CryptoUserPasswordProvider().update("id", inputs, news)

    assert simulator.verify_password("kmsuser", ROTATED_PASSWORD)
    assert outs_of(result)["password_secret_arn"] == news["password_secret_arn"]


def test_diff_replaces_on_another_cluster() -> None:
    olds = {"cluster_id": "cluster-aaaaaaaaaaa", "username": "kmsuser"}
    news = {**olds, "cluster_id": "cluster-bbbbbbbbbbb"}

    diff = CryptoUserPasswordProvider().diff("id", olds, news)

    assert diff.replaces == ["cluster_id"]
    assert diff.changes is True


def test_check_rejects_a_bad_secret_arn(activated_cluster: Chain) -> None:
    inputs = crypto_user_inputs(activated_cluster, password_secret_arn="not-an-arn")

    result = CryptoUserPasswordProvider().check({}, inputs)

    assert [failure.property for failure in result.failures] == ["password_secret_arn"]
    assert "not-an-arn" in result.failures[0].reason
