"""SSM Run Command in the emulator: instances coming online, scripts run through
bash in a sandbox, statuses on the simulated clock, and the `aws` simulator."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from rehearsal.emulator import Emulator
from rehearsal.emulator.instances import sandbox_path

from ._cloudhsm_setup import CLIENT_USER_DATA, SSM_POLICY
from ._cloudhsm_setup import launch_instance as launch_with_role


@pytest.fixture(autouse=True)
def aws_managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto knows AWS managed policies such as AmazonSSMManagedInstanceCore only
    # when asked to load them.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def launch_instance(
    user_data: str = CLIENT_USER_DATA, with_ssm_policy: bool = True
) -> str:
    """Launch an instance whose role may carry the SSM core policy."""
    policy_arn = SSM_POLICY if with_ssm_policy else None
    return launch_with_role("admin-client", policy_arn, user_data)


def online_instance(emulator: Emulator, user_data: str = CLIENT_USER_DATA) -> str:
    instance_id = launch_instance(user_data)
    emulator.clock.advance(
        emulator.profile.instance_ssm_online + emulator.profile.client_install
    )
    return instance_id


def run(emulator: Emulator, instance_id: str, *commands: str) -> dict[str, Any]:
    """Send a script, let its simulated duration pass, return the invocation."""
    ssm = boto3.client("ssm")
    command = ssm.send_command(
        InstanceIds=[instance_id],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": list(commands)},
    )["Command"]
    emulator.clock.advance(emulator.profile.ssm_command)
    return ssm.get_command_invocation(
        CommandId=command["CommandId"], InstanceId=instance_id
    )


def test_describe_instance_information_lists_instance_once_online(
    emulator: Emulator,
) -> None:
    ssm = boto3.client("ssm")
    instance_id = launch_instance()

    before = ssm.describe_instance_information()["InstanceInformationList"]
    emulator.clock.advance(emulator.profile.instance_ssm_online)
    after = ssm.describe_instance_information()["InstanceInformationList"]

    assert before == []
    assert [(i["InstanceId"], i["PingStatus"]) for i in after] == [
        (instance_id, "Online")
    ]
    assert after[0]["IamRole"] == "admin-client"


def test_describe_instance_information_omits_instance_without_ssm_policy(
    emulator: Emulator,
) -> None:
    launch_instance(with_ssm_policy=False)
    emulator.clock.advance(emulator.profile.instance_ssm_online * 10)

    listed = boto3.client("ssm").describe_instance_information()

    assert listed["InstanceInformationList"] == []


def test_send_command_refuses_instance_not_yet_online(emulator: Emulator) -> None:
    instance_id = launch_instance()

    with pytest.raises(ClientError) as raised:
        boto3.client("ssm").send_command(
            InstanceIds=[instance_id],
            DocumentName="AWS-RunShellScript",
            Parameters={"commands": ["true"]},
        )

    error = raised.value.response["Error"]
    assert error["Code"] == "InvalidInstanceId"
    assert instance_id in error["Message"]
    assert "AmazonSSMManagedInstanceCore" in error["Message"]


def test_send_command_refuses_other_documents(emulator: Emulator) -> None:
    instance_id = online_instance(emulator)

    with pytest.raises(ClientError) as raised:
        boto3.client("ssm").send_command(
            InstanceIds=[instance_id],
            DocumentName="AWS-RunPowerShellScript",
            Parameters={"commands": ["true"]},
        )

    error = raised.value.response["Error"]
    assert error["Code"] == "InvalidDocument"
    assert "AWS-RunPowerShellScript" in error["Message"]


def test_get_command_invocation_follows_simulated_clock(emulator: Emulator) -> None:
    ssm = boto3.client("ssm")
    profile = emulator.profile
    instance_id = online_instance(emulator)
    command_id = ssm.send_command(
        InstanceIds=[instance_id],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["echo hello"]},
    )["Command"]["CommandId"]

    def invocation() -> dict[str, Any]:
        return ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)

    with pytest.raises(ClientError) as raised:
        invocation()
    emulator.clock.advance(profile.invocation_not_found)
    pending = invocation()
    emulator.clock.advance(profile.ssm_pending)
    running = invocation()
    emulator.clock.advance(profile.ssm_command)
    done = invocation()

    assert raised.value.response["Error"]["Code"] == "InvocationDoesNotExist"
    assert command_id in raised.value.response["Error"]["Message"]
    assert (pending["Status"], pending["StatusDetails"]) == ("Pending", "Pending")
    assert (pending["ResponseCode"], pending["ExecutionStartDateTime"]) == (-1, "")
    assert (running["Status"], running["StandardOutputContent"]) == ("InProgress", "")
    assert (done["Status"], done["ResponseCode"]) == ("Success", 0)
    assert done["StandardOutputContent"] == "hello\n"


def test_list_commands_pending_invocation_is_neither_done_nor_in_progress(
    emulator: Emulator,
) -> None:
    ssm = boto3.client("ssm")
    instance_id = online_instance(emulator)
    ssm.send_command(
        InstanceIds=[instance_id],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["true"]},
    )

    [command] = ssm.list_commands()["Commands"]

    assert (command["Status"], command["CompletedCount"]) == ("Pending", 0)


def test_send_command_runs_script_in_sandbox(emulator: Emulator) -> None:
    instance_id = online_instance(emulator)
    sandbox = sandbox_path(emulator.workdir, instance_id)

    result = run(
        emulator,
        instance_id,
        "pwd",
        'echo "$HOME"',
        "echo x > /opt/cloudhsm/etc/marker",
        "ls /opt/cloudhsm/bin",
    )

    assert result["StandardOutputContent"].split() == [
        str(sandbox),
        str(sandbox),
        "cloudhsm-cli",
        "configure-cli",
    ]
    assert (sandbox / "opt/cloudhsm/etc/marker").read_text() == "x\n"


def test_send_command_reports_failure_exit_code(emulator: Emulator) -> None:
    instance_id = online_instance(emulator)

    result = run(emulator, instance_id, "echo broken >&2", "exit 3")

    assert (result["Status"], result["ResponseCode"]) == ("Failed", 3)
    assert result["StandardErrorContent"] == "broken\n"


def test_get_command_invocation_cuts_output_at_aws_limits(emulator: Emulator) -> None:
    instance_id = online_instance(emulator)

    result = run(
        emulator,
        instance_id,
        "head -c 30000 /dev/zero | tr '\\0' o",
        "head -c 9000 /dev/zero | tr '\\0' e >&2",
    )

    assert len(result["StandardOutputContent"]) == 24_000
    assert len(result["StandardErrorContent"]) == 8_000


def test_client_tools_missing_without_cloudhsm_user_data(emulator: Emulator) -> None:
    instance_id = online_instance(emulator, user_data="#!/bin/bash\necho plain\n")

    result = run(emulator, instance_id, "/opt/cloudhsm/bin/cloudhsm-cli user list")

    assert result["Status"] == "Failed"
    assert result["ResponseCode"] == 127
    assert "No such file or directory" in result["StandardErrorContent"]


def test_client_tools_missing_before_client_install_passed(
    emulator: Emulator,
) -> None:
    instance_id = launch_instance()
    emulator.clock.advance(emulator.profile.instance_ssm_online)

    result = run(emulator, instance_id, "ls /opt/cloudhsm/bin | wc -l")

    assert result["StandardOutputContent"].strip() == "0"


def test_ssm_fail_fault_fails_without_running_script(emulator: Emulator) -> None:
    instance_id = online_instance(emulator)
    emulator.faults.ssm = "fail"

    result = run(emulator, instance_id, "touch ran")

    assert (result["Status"], result["ResponseCode"]) == ("Failed", 1)
    assert "injected" in result["StandardErrorContent"]
    assert not (sandbox_path(emulator.workdir, instance_id) / "ran").exists()


def test_ssm_timeout_fault_reports_timed_out(emulator: Emulator) -> None:
    instance_id = online_instance(emulator)
    emulator.faults.ssm = "timeout"

    result = run(emulator, instance_id, "touch ran")

    assert (result["Status"], result["ResponseCode"]) == ("TimedOut", -1)
    assert result["StatusDetails"] == "ExecutionTimedOut"
    assert (sandbox_path(emulator.workdir, instance_id) / "ran").exists()


def test_send_command_times_out_script_past_execution_timeout(
    emulator: Emulator,
) -> None:
    ssm = boto3.client("ssm")
    instance_id = online_instance(emulator)
    started = time.monotonic()

    command = ssm.send_command(
        InstanceIds=[instance_id],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["sleep 30 &", "wait"], "executionTimeout": ["0.5"]},
    )["Command"]
    elapsed = time.monotonic() - started
    emulator.clock.advance(emulator.profile.ssm_command)
    result = ssm.get_command_invocation(
        CommandId=command["CommandId"], InstanceId=instance_id
    )

    assert (result["Status"], result["ResponseCode"]) == ("TimedOut", -1)
    assert elapsed < 10, f"the script's sleep outlived the timeout ({elapsed:.1f} s)"


def test_list_commands_keeps_parameters_as_sent(emulator: Emulator) -> None:
    ssm = boto3.client("ssm")
    instance_id = online_instance(emulator)
    sent = {"commands": ["echo one", "echo two"], "executionTimeout": ["600"]}
    command_id = ssm.send_command(
        InstanceIds=[instance_id], DocumentName="AWS-RunShellScript", Parameters=sent
    )["Command"]["CommandId"]
    emulator.clock.advance(emulator.profile.ssm_command)

    listed = ssm.list_commands(InstanceId=instance_id)["Commands"]
    invocations = ssm.list_command_invocations(CommandId=command_id, Details=True)

    assert [(c["CommandId"], c["Parameters"]) for c in listed] == [(command_id, sent)]
    assert listed[0]["Status"] == "Success"
    plugin = invocations["CommandInvocations"][0]["CommandPlugins"][0]
    assert plugin["Output"] == "one\ntwo\n"


def test_get_command_invocation_unknown_command_is_refused(
    emulator: Emulator,
) -> None:
    with pytest.raises(ClientError) as raised:
        boto3.client("ssm").get_command_invocation(
            CommandId="11111111-2222-3333-4444-555555555555", InstanceId="i-1"
        )

    error = raised.value.response["Error"]
    assert error["Code"] == "InvalidCommandId"
    assert "11111111-2222-3333-4444-555555555555" in error["Message"]


def test_aws_simulator_reads_secret_and_parameter(emulator: Emulator) -> None:
    boto3.client("secretsmanager").create_secret(
        Name="admin-password", SecretString="s3cretPassw0rd"
    )
    boto3.client("ssm").put_parameter(
        Name="/kms/user", Value="kmsPassw0rd", Type="SecureString"
    )
    instance_id = online_instance(emulator)

    result = run(
        emulator,
        instance_id,
        "aws secretsmanager get-secret-value --secret-id admin-password "
        "--query SecretString --output text",
        "aws ssm get-parameter --name /kms/user --with-decryption "
        "--query Parameter.Value --output text",
    )

    assert result["StandardOutputContent"].split() == ["s3cretPassw0rd", "kmsPassw0rd"]
    argv_log = sandbox_path(emulator.workdir, instance_id) / "argv.log"
    assert [json.loads(line)[1:3] for line in argv_log.read_text().splitlines()] == [
        ["secretsmanager", "get-secret-value"],
        ["ssm", "get-parameter"],
    ]


def test_aws_simulator_missing_secret_fails_like_cli(emulator: Emulator) -> None:
    instance_id = online_instance(emulator)

    result = run(
        emulator,
        instance_id,
        "aws secretsmanager get-secret-value --secret-id nowhere "
        "--query SecretString --output text",
    )

    assert (result["Status"], result["ResponseCode"]) == ("Failed", 254)
    assert "(ResourceNotFoundException)" in result["StandardErrorContent"]
    assert "GetSecretValue" in result["StandardErrorContent"]


def test_aws_simulator_unknown_command_fails_with_usage(emulator: Emulator) -> None:
    instance_id = online_instance(emulator)

    result = run(emulator, instance_id, "aws s3 ls")

    assert (result["Status"], result["ResponseCode"]) == ("Failed", 252)
    assert "aws: error:" in result["StandardErrorContent"]
