"""CryptoUserPassword read, delete, and create again after an interrupted create."""

from __future__ import annotations

import boto3
import dill

from providers.crypto_user_password import CryptoUserPasswordProvider
from tests.providers.conftest import KMSUSER_PASSWORD, Chain, crypto_user_inputs
from tests.providers.results import outs_of

ROTATED_PASSWORD = "RotatedByKms42"


def sent_comments(chain: Chain) -> list[str]:
    commands = boto3.client("ssm").list_commands(InstanceId=chain.instance_id)
    return [str(command.get("Comment", "")) for command in commands["Commands"]]


def kmsusers(chain: Chain) -> list[dict[str, str]]:
    simulator = chain.emulator.cloudhsm.hsm_simulator(chain.cluster_id)
    return [u for u in simulator.list_users() if u["username"] == "kmsuser"]


def test_read_returns_state_without_touching_the_hsm(
    cluster_with_kmsuser: Chain,
) -> None:
    chain = cluster_with_kmsuser
    outs = outs_of(CryptoUserPasswordProvider().create(crypto_user_inputs(chain)))
    simulator = chain.emulator.cloudhsm.hsm_simulator(chain.cluster_id)
    simulator.change_password("kmsuser", "crypto-user", ROTATED_PASSWORD)  # by KMS
    sent_before = sent_comments(chain)

    read = CryptoUserPasswordProvider().read(f"{chain.cluster_id}-kmsuser", outs)

    assert read.id == f"{chain.cluster_id}-kmsuser"
    assert outs_of(read) == outs
    assert sent_comments(chain) == sent_before
    assert simulator.verify_password("kmsuser", ROTATED_PASSWORD)


def test_delete_keeps_the_user_and_its_password(cluster_with_kmsuser: Chain) -> None:
    chain = cluster_with_kmsuser
    outs = outs_of(CryptoUserPasswordProvider().create(crypto_user_inputs(chain)))
    simulator = chain.emulator.cloudhsm.hsm_simulator(chain.cluster_id)
    sent_before = sent_comments(chain)
    provider = dill.loads(dill.dumps(CryptoUserPasswordProvider(), recurse=True))

    provider.delete(f"{chain.cluster_id}-kmsuser", outs)

    assert sent_comments(chain) == sent_before
    assert [u["cluster-coverage"] for u in kmsusers(chain)] == ["full"]
    assert simulator.verify_password("kmsuser", KMSUSER_PASSWORD)


def test_create_again_after_interrupted_create_sets_the_same_password(
    cluster_with_kmsuser: Chain,
) -> None:
    chain = cluster_with_kmsuser
    inputs = crypto_user_inputs(chain)
    simulator = chain.emulator.cloudhsm.hsm_simulator(chain.cluster_id)
    simulator.change_password("kmsuser", "crypto-user", ROTATED_PASSWORD)
    CryptoUserPasswordProvider().create(inputs)  # its result never reached state

    result = CryptoUserPasswordProvider().create(inputs)

    assert result.id == f"{chain.cluster_id}-kmsuser"
    assert simulator.verify_password("kmsuser", KMSUSER_PASSWORD)
    assert [u["cluster-coverage"] for u in kmsusers(chain)] == ["full"]
    comments = sent_comments(chain)
    assert sum("create kmsuser" in comment for comment in comments) == 1
    assert sum("set the password of kmsuser" in comment for comment in comments) == 2
