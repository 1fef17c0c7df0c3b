"""ClusterActivation through the emulator's SSM and cloudhsm-cli simulator."""

from __future__ import annotations

import json
import logging

import boto3
import dill
import pytest

from providers.cluster_activation import ClusterActivationProvider
from providers.errors import ClusterStateError, HsmCommandFailed, WaitTimeout
from rehearsal.emulator.instances import sandbox_path
from tests.providers.conftest import (
    ADMIN_PASSWORD,
    Chain,
    Secrets,
    activation_inputs,
    launch_admin_instance,
)
from tests.providers.results import outs_of


def ssm_command_texts() -> list[str]:
    ssm = boto3.client("ssm")
    commands = ssm.list_commands()["Commands"]
    return [json.dumps(command["Parameters"]) for command in commands]


def test_create_activates_the_cluster(cluster_with_client: Chain) -> None:
    result = ClusterActivationProvider().create(activation_inputs(cluster_with_client))

    assert outs_of(result)["cluster_state"] == "ACTIVE"
    assert cluster_with_client.state() == "ACTIVE"
    simulator = cluster_with_client.emulator.cloudhsm.hsm_simulator(
        cluster_with_client.cluster_id
    )
    assert simulator.verify_password("admin", ADMIN_PASSWORD)


def test_create_installs_the_trust_anchor_on_the_instance(
    cluster_with_client: Chain,
) -> None:
    ClusterActivationProvider().create(activation_inputs(cluster_with_client))

    sandbox = sandbox_path(
        cluster_with_client.emulator.workdir, cluster_with_client.instance_id
    )
    installed = (sandbox / "opt/cloudhsm/etc/customerCA.crt").read_text()
    assert cluster_with_client.ca is not None
    assert installed.strip() == cluster_with_client.ca["certificate_pem"].strip()


def test_create_again_after_interrupted_create_adopts_with_the_same_password(
    cluster_with_client: Chain,
) -> None:
    inputs = activation_inputs(cluster_with_client)
    ClusterActivationProvider().create(inputs)

    again = ClusterActivationProvider().create(inputs)

    assert outs_of(again)["cluster_state"] == "ACTIVE"
    argv_log = (
        sandbox_path(
            cluster_with_client.emulator.workdir, cluster_with_client.instance_id
        )
        / "argv.log"
    )
    runs = [json.loads(line)[1:] for line in argv_log.read_text().splitlines()]
    assert runs.count(["cluster", "activate"]) == 1
    assert ["user", "list"] in runs


def test_create_on_cluster_activated_with_another_password_fails_clearly(
    cluster_with_client: Chain,
) -> None:
    inputs = activation_inputs(cluster_with_client)
    ClusterActivationProvider().create(inputs)
    boto3.client("secretsmanager").put_secret_value(
        SecretId=inputs["admin_password_secret_arn"], SecretString="OtherPassw0rd1"
    )

    with pytest.raises(HsmCommandFailed) as raised:
        ClusterActivationProvider().create(inputs)

    message = str(raised.value)
    assert message.startswith(
        f"CloudHSM cluster {cluster_with_client.cluster_id} is already ACTIVE, but "
        "the admin password in secret"
    )
    assert "the cluster was activated with another password" in message
    assert "OtherPassw0rd1" not in message


def test_create_on_uninitialized_cluster_names_the_state(signed_cluster: Chain) -> None:
    signed_cluster.instance_id = launch_admin_instance()
    signed_cluster.secrets = Secrets(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:a", "b"
    )

    with pytest.raises(ClusterStateError) as raised:
        ClusterActivationProvider().create(activation_inputs(signed_cluster))

    assert str(raised.value).startswith(
        f"CloudHSM cluster {signed_cluster.cluster_id} is UNINITIALIZED; activation "
        "needs it INITIALIZED"
    )


def test_create_times_out_when_client_is_never_installed(
    initialized_cluster: Chain, secrets: object
) -> None:
    initialized_cluster.instance_id = launch_admin_instance(user_data="#!/bin/bash\n")
    initialized_cluster.secrets = secrets  # type: ignore[assignment]
    inputs = {**activation_inputs(initialized_cluster), "timeout_seconds": 600}

    with pytest.raises(WaitTimeout) as raised:
        ClusterActivationProvider().create(inputs)

    message = str(raised.value)
    assert message.startswith(
        f"Client SDK 5 install on {initialized_cluster.instance_id}: still absent "
        "after waiting 10m"
    )
    assert "/var/log/cloud-init-output.log" in message


def test_no_secret_in_logs_errors_or_ssm_parameters(
    cluster_with_client: Chain,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    inputs = activation_inputs(cluster_with_client)
    ClusterActivationProvider().create(inputs)
    # The test's own call carries the secret; botocore would log it at DEBUG.
    logging.disable(logging.DEBUG)
    boto3.client("secretsmanager").put_secret_value(
        SecretId=inputs["admin_password_secret_arn"], SecretString="WrongPassw0rd2"
    )
    logging.disable(logging.NOTSET)
    with pytest.raises(HsmCommandFailed) as raised:
        ClusterActivationProvider().create(inputs)

    captured = capsys.readouterr()
    seen = [captured.out, captured.err, caplog.text, str(raised.value)]
    seen += ssm_command_texts()
    for secret in (ADMIN_PASSWORD, "WrongPassw0rd2"):
        leaks = [text[max(0, text.find(secret) - 200) :][:300] for text in seen]
        assert [leak for leak in leaks if secret in leak] == []
    assert any("cluster activate" in text for text in ssm_command_texts())


def test_read_reports_live_state(cluster_with_client: Chain) -> None:
    inputs = activation_inputs(cluster_with_client)
    outs = {**inputs, "cluster_state": "INITIALIZED"}

    assert outs_of(ClusterActivationProvider().read("x", outs))["cluster_state"] == (
        "INITIALIZED"
    )
    ClusterActivationProvider().create(inputs)
    assert (
        outs_of(ClusterActivationProvider().read("x", outs))["cluster_state"]
        == "ACTIVE"
    )


def test_diff_and_update(cluster_with_client: Chain) -> None:
    inputs = activation_inputs(cluster_with_client)
    outs = {**inputs, "cluster_state": "ACTIVE"}
    provider = ClusterActivationProvider()

    assert provider.diff("x", outs, inputs).changes is False
    new_instance = {**inputs, "instance_id": "i-0123456789abcdef0"}
    assert provider.diff("x", outs, new_instance).replaces == []
    assert provider.diff("x", outs, {**inputs, "cluster_id": "cluster-b"}).replaces == [
        "cluster_id"
    ]
    updated = outs_of(provider.update("x", outs, new_instance))
    assert updated["cluster_state"] == "ACTIVE"
    assert updated["instance_id"] == "i-0123456789abcdef0"


def test_check_rejects_bad_ip_and_arn() -> None:
    result = ClusterActivationProvider().check(
        {},
        {
            "cluster_id": "cluster-abcdefghijk",
            "instance_id": "i-0123456789abcdef0",
            "hsm_ip": "10.0.0",
            "trust_anchor_pem": "PEM",
            "admin_password_secret_arn": "admin-password",
        },
    )

    assert {f.property: f.reason for f in result.failures} == {
        "hsm_ip": "hsm_ip must be the IPv4 address of an HSM, got '10.0.0'.",
        "admin_password_secret_arn": (
            "admin_password_secret_arn must be the ARN of a Secrets Manager secret, "
            "got 'admin-password'."
        ),
    }


def test_provider_survives_dill_round_trip(cluster_with_client: Chain) -> None:
    provider = dill.loads(dill.dumps(ClusterActivationProvider(), recurse=True))

    outs = outs_of(provider.create(activation_inputs(cluster_with_client)))

    assert outs["cluster_state"] == "ACTIVE"
    provider.delete("x", outs)
    assert cluster_with_client.state() == "ACTIVE"
