"""CryptoUser and CryptoUserCoverage through SSM and the cloudhsm-cli simulator."""

from __future__ import annotations

import json
import logging

import boto3
import dill
import pytest
from pulumi.runtime.rpc import UNKNOWN

from providers.crypto_user import CryptoUserProvider
from providers.errors import ClusterStateError, HsmCommandFailed
from providers.user_coverage import CryptoUserCoverageProvider
from rehearsal.emulator.instances import sandbox_path
from tests.providers.conftest import (
    ADMIN_PASSWORD,
    KMSUSER_PASSWORD,
    Chain,
    add_hsm_while_creating_kmsuser,
    crypto_user_inputs,
)
from tests.providers.results import outs_of


def users(chain: Chain) -> dict[str, str]:
    simulator = chain.emulator.cloudhsm.hsm_simulator(chain.cluster_id)
    return {
        user["username"]: user["cluster-coverage"] for user in simulator.list_users()
    }


def cli_runs(chain: Chain) -> list[list[str]]:
    log = sandbox_path(chain.emulator.workdir, chain.instance_id) / "argv.log"
    return [json.loads(line)[1:] for line in log.read_text().splitlines()]


def coverage_inputs(chain: Chain, **extra: object) -> dict:
    inputs = crypto_user_inputs(chain)
    for name in ("username", "password_secret_arn"):
        del inputs[name]
    return {**inputs, "usernames": ["kmsuser"], **extra}


def test_create_makes_kmsuser_with_full_coverage(activated_cluster: Chain) -> None:
    result = CryptoUserProvider().create(crypto_user_inputs(activated_cluster))

    assert users(activated_cluster)["kmsuser"] == "full"
    simulator = activated_cluster.emulator.cloudhsm.hsm_simulator(
        activated_cluster.cluster_id
    )
    assert simulator.verify_password("kmsuser", KMSUSER_PASSWORD)
    assert outs_of(result)["hsm_count_at_creation"] == 1
    assert result.id == f"{activated_cluster.cluster_id}-kmsuser"


def test_create_again_after_interrupted_create_adopts(activated_cluster: Chain) -> None:
    inputs = crypto_user_inputs(activated_cluster)
    CryptoUserProvider().create(inputs)

    CryptoUserProvider().create(inputs)

    creates = [
        run for run in cli_runs(activated_cluster) if run[:2] == ["user", "create"]
    ]
    assert len(creates) == 1


def test_create_refuses_existing_user_with_another_role(
    activated_cluster: Chain,
) -> None:
    inputs = crypto_user_inputs(activated_cluster, username="admin")

    with pytest.raises(HsmCommandFailed) as raised:
        CryptoUserProvider().create(inputs)

    assert str(raised.value) == (
        f"User admin exists on cluster {activated_cluster.cluster_id} with role "
        "admin, not crypto-user. KMS needs a crypto user: delete that user or "
        "choose another username."
    )


def test_create_on_cluster_not_active_names_the_state(
    cluster_with_client: Chain,
) -> None:
    with pytest.raises(ClusterStateError) as raised:
        CryptoUserProvider().create(crypto_user_inputs(cluster_with_client))

    assert str(raised.value).startswith(
        f"CloudHSM cluster {cluster_with_client.cluster_id} is INITIALIZED; users can "
        "be created only on an ACTIVE (activated) cluster."
    )


def test_create_with_wrong_admin_password_fails_without_leaking_it(
    activated_cluster: Chain,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    inputs = crypto_user_inputs(activated_cluster)
    # The test's own call carries the secret; botocore would log it at DEBUG.
    logging.disable(logging.DEBUG)
    boto3.client("secretsmanager").put_secret_value(
        SecretId=inputs["admin_password_secret_arn"], SecretString="WrongAdmin99"
    )
    logging.disable(logging.NOTSET)

    with pytest.raises(HsmCommandFailed) as raised:
        CryptoUserProvider().create(inputs)

    message = str(raised.value)
    assert message.startswith(
        f"cloudhsm-cli on {activated_cluster.instance_id} failed to list users on "
        f"cluster {activated_cluster.cluster_id}: Unable to log in"
    )
    captured = capsys.readouterr()
    seen = [captured.out, captured.err, caplog.text, message]
    for secret in ("WrongAdmin99", ADMIN_PASSWORD, KMSUSER_PASSWORD):
        assert [text for text in seen if secret in text] == []


def test_create_success_leaks_no_password(
    activated_cluster: Chain,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    CryptoUserProvider().create(crypto_user_inputs(activated_cluster))

    captured = capsys.readouterr()
    commands = boto3.client("ssm").list_commands()["Commands"]
    seen = [captured.out, captured.err, caplog.text, json.dumps(commands, default=str)]
    for secret in (ADMIN_PASSWORD, KMSUSER_PASSWORD):
        assert [text for text in seen if secret in text] == []


def test_read_returns_state_while_user_exists(cluster_with_kmsuser: Chain) -> None:
    outs = {**crypto_user_inputs(cluster_with_kmsuser), "hsm_count_at_creation": 1}

    read = CryptoUserProvider().read("x", outs)

    assert read.id == "x"
    assert outs_of(read) == outs


def test_read_reports_user_deleted_outside_pulumi(cluster_with_kmsuser: Chain) -> None:
    simulator = cluster_with_kmsuser.emulator.cloudhsm.hsm_simulator(
        cluster_with_kmsuser.cluster_id
    )
    simulator.delete_user("kmsuser", "crypto-user")
    outs = {**crypto_user_inputs(cluster_with_kmsuser), "hsm_count_at_creation": 1}

    read = CryptoUserProvider().read("x", outs)

    assert read.id is None


def test_diff_unchanged_changed_and_update(cluster_with_kmsuser: Chain) -> None:
    inputs = crypto_user_inputs(cluster_with_kmsuser)
    outs = {**inputs, "hsm_count_at_creation": 1}
    provider = CryptoUserProvider()

    assert provider.diff("x", outs, inputs).changes is False
    more_ips = {**inputs, "hsm_ips": [*inputs["hsm_ips"], "10.0.1.9"]}
    assert provider.diff("x", outs, more_ips).replaces == []
    renamed = provider.diff("x", outs, {**inputs, "username": "kms2"})
    assert renamed.replaces == ["username"]
    assert renamed.delete_before_replace is True
    updated = outs_of(provider.update("x", outs, more_ips))
    assert updated["hsm_count_at_creation"] == 1
    assert updated["hsm_ips"] == more_ips["hsm_ips"]


def test_delete_removes_the_user(cluster_with_kmsuser: Chain) -> None:
    outs = {**crypto_user_inputs(cluster_with_kmsuser), "hsm_count_at_creation": 1}

    CryptoUserProvider().delete("x", outs)

    assert "kmsuser" not in users(cluster_with_kmsuser)


def test_delete_while_every_hsm_is_deleting_logs_and_succeeds(
    cluster_with_kmsuser: Chain, capsys: pytest.CaptureFixture[str]
) -> None:
    outs = {**crypto_user_inputs(cluster_with_kmsuser), "hsm_count_at_creation": 1}
    boto3.client("cloudhsmv2").delete_hsm(
        ClusterId=cluster_with_kmsuser.cluster_id, HsmId=cluster_with_kmsuser.hsm_id
    )

    CryptoUserProvider().delete("x", outs)

    assert "no ACTIVE HSM left, nothing to delete" in capsys.readouterr().err
    assert cli_runs(cluster_with_kmsuser)[-1][:2] != ["user", "delete"]


def test_delete_after_cluster_is_gone_logs_and_succeeds(
    cluster_with_kmsuser: Chain, capsys: pytest.CaptureFixture[str]
) -> None:
    outs = {
        **crypto_user_inputs(cluster_with_kmsuser),
        "cluster_id": "cluster-zzzzzzzzzzz",
    }

    CryptoUserProvider().delete("x", outs)

    assert "cluster or admin instance gone, nothing to delete" in (
        capsys.readouterr().err
    )
    assert "kmsuser" in users(cluster_with_kmsuser)


@pytest.mark.parametrize("username", ["", "k" * 32, "kms-user"])
def test_check_rejects_username_outside_the_rule(username: str) -> None:
    news = {
        "cluster_id": "cluster-abcdefghijk",
        "instance_id": "i-0123456789abcdef0",
        "hsm_ips": ["10.0.0.1"],
        "username": username,
        "password_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:k",
        "admin_password_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:"
        "secret:a",
    }

    failures = CryptoUserProvider().check({}, news).failures

    assert [(f.property, f.reason) for f in failures] == [
        (
            "username",
            f"username must be 1 to 31 characters from [a-zA-Z0-9_], got {username!r}.",
        )
    ]


def test_check_accepts_unknown_ip_list_during_preview() -> None:
    news = {
        "cluster_id": UNKNOWN,
        "instance_id": UNKNOWN,
        "hsm_ips": UNKNOWN,
        "password_secret_arn": UNKNOWN,
        "admin_password_secret_arn": UNKNOWN,
    }

    result = CryptoUserProvider().check({}, news)

    assert result.failures == []
    assert result.inputs["username"] == "kmsuser"


def test_provider_survives_dill_round_trip(activated_cluster: Chain) -> None:
    provider = dill.loads(dill.dumps(CryptoUserProvider(), recurse=True))

    provider.create(crypto_user_inputs(activated_cluster))

    assert users(activated_cluster)["kmsuser"] == "full"


def test_coverage_full_after_second_hsm_cloned(two_hsm_cluster: Chain) -> None:
    outs = outs_of(
        CryptoUserCoverageProvider().create(coverage_inputs(two_hsm_cluster))
    )

    assert outs["coverage"] == {"kmsuser": "full"}


def test_coverage_fails_naming_user_created_while_second_hsm_was_added(
    activated_cluster: Chain,
) -> None:
    chain = activated_cluster
    add_hsm_while_creating_kmsuser(chain)

    with pytest.raises(HsmCommandFailed) as raised:
        CryptoUserCoverageProvider().create(coverage_inputs(chain))

    message = str(raised.value)
    assert message.startswith(
        f"User kmsuser on CloudHSM cluster {chain.cluster_id} has cluster-coverage "
        "'partial', not 'full'"
    )
    assert "USER_NOT_FOUND" in message


def test_coverage_read_diff_and_update(two_hsm_cluster: Chain) -> None:
    provider = CryptoUserCoverageProvider()
    inputs = coverage_inputs(two_hsm_cluster)
    outs = outs_of(provider.create(inputs))

    assert outs_of(provider.read("x", outs))["coverage"] == {"kmsuser": "full"}
    assert provider.diff("x", outs, inputs).changes is False
    drifted = {**outs, "coverage": {"kmsuser": "partial"}}
    assert provider.diff("x", drifted, inputs).changes is True
    assert outs_of(provider.update("x", drifted, inputs))["coverage"] == {
        "kmsuser": "full"
    }
    assert dill.loads(dill.dumps(provider, recurse=True)).delete("x", outs) is None


def test_coverage_check_rejects_empty_usernames() -> None:
    news = {
        "cluster_id": "cluster-abcdefghijk",
        "instance_id": "i-0123456789abcdef0",
        "hsm_ips": ["10.0.0.1", "10.0.1.1"],
        "usernames": [],
        "admin_password_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:"
        "secret:a",
    }

    failures = CryptoUserCoverageProvider().check({}, news).failures

    assert [f.property for f in failures] == ["usernames"]
    assert failures[0].reason.startswith("usernames must be 1 or more names")
