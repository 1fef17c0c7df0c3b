"""CryptoUser create after an interrupted run: the user exists, fully or not."""

from __future__ import annotations

import boto3
import pytest

from providers.crypto_user import CryptoUserProvider
from providers.errors import HsmCommandFailed
from tests.providers.conftest import (
    Chain,
    add_hsm_while_creating_kmsuser,
    create_key_store,
    crypto_user_inputs,
)
from tests.providers.results import outs_of


def kmsusers(chain: Chain) -> list[dict[str, str]]:
    simulator = chain.emulator.cloudhsm.hsm_simulator(chain.cluster_id)
    return [u for u in simulator.list_users() if u["username"] == "kmsuser"]


def user_creates_sent(chain: Chain) -> int:
    commands = boto3.client("ssm").list_commands(InstanceId=chain.instance_id)
    return sum(
        "create kmsuser" in command.get("Comment", "")
        for command in commands["Commands"]
    )


def test_create_adopts_full_user_without_creating_it_again(
    cluster_with_kmsuser: Chain,
) -> None:
    outs = outs_of(
        CryptoUserProvider().create(crypto_user_inputs(cluster_with_kmsuser))
    )

    assert outs["hsm_count_at_creation"] == 1
    assert [u["cluster-coverage"] for u in kmsusers(cluster_with_kmsuser)] == ["full"]
    assert user_creates_sent(cluster_with_kmsuser) == 1


def test_create_recreates_partial_user_when_no_key_store_uses_cluster(
    activated_cluster: Chain,
) -> None:
    chain = activated_cluster
    add_hsm_while_creating_kmsuser(chain)  # as a dead run left it
    assert [u["cluster-coverage"] for u in kmsusers(chain)] == ["partial"]

    CryptoUserProvider().create(crypto_user_inputs(chain))

    assert [u["cluster-coverage"] for u in kmsusers(chain)] == ["full"]
    assert user_creates_sent(chain) == 1


def test_create_refuses_partial_user_when_key_store_uses_cluster(
    activated_cluster: Chain,
) -> None:
    chain = activated_cluster
    add_hsm_while_creating_kmsuser(chain)  # as a dead run left it
    store_id = create_key_store(chain)

    with pytest.raises(HsmCommandFailed) as raised:
        CryptoUserProvider().create(crypto_user_inputs(chain))

    message = str(raised.value)
    assert message.startswith(
        f"User kmsuser on cluster {chain.cluster_id} has cluster-coverage "
        f"'partial' and key store(s) {store_id} use the cluster"
    )
    assert "add them again" in message
    assert [u["cluster-coverage"] for u in kmsusers(chain)] == ["partial"]
