"""run_script and wait_for_instance_online against the emulator's SSM."""

from __future__ import annotations

import boto3
import pytest

from providers.errors import SsmCommandFailed, WaitTimeout
from providers.ssm_commands import run_script, wait_for_instance_online
from rehearsal.emulator import Emulator
from tests.providers.conftest import launch_admin_instance, set_faults


@pytest.fixture
def online_instance(emulator: Emulator) -> str:
    instance_id = launch_admin_instance()
    wait_for_instance_online(instance_id, region=None, timeout_seconds=600)
    return instance_id


def test_wait_for_instance_online_returns_once_ssm_lists_it(emulator: Emulator) -> None:
    instance_id = launch_admin_instance()

    wait_for_instance_online(instance_id, region=None, timeout_seconds=600)

    info = boto3.client("ssm").describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": [instance_id]}]
    )
    assert info["InstanceInformationList"][0]["PingStatus"] == "Online"
    assert emulator.clock.now() >= emulator.profile.instance_ssm_online


def test_wait_for_instance_online_times_out_naming_the_instance(
    emulator: Emulator,
) -> None:
    instance_id = launch_admin_instance(with_ssm_policy=False)

    with pytest.raises(WaitTimeout) as raised:
        wait_for_instance_online(instance_id, region=None, timeout_seconds=60)

    message = str(raised.value)
    assert message.startswith(f"SSM agent on {instance_id}: still ")
    assert "after waiting 1m00s, past the deadline" in message
    assert "AmazonSSMManagedInstanceCore" in message


def test_run_script_returns_output_of_a_successful_script(online_instance: str) -> None:
    result = run_script(
        online_instance,
        "#!/bin/bash\nset -euo pipefail\necho hello\necho warn >&2\n",
        region=None,
        comment="test",
        timeout_seconds=300,
    )

    assert result.status == "Success"
    assert result.exit_code == 0
    assert result.stdout.strip() == "hello"
    assert result.stderr.strip() == "warn"


def test_run_script_failure_raises_with_exit_code_and_masked_tail(
    online_instance: str,
) -> None:
    script = "\n".join(
        [f"echo line {n}" for n in range(30)] + ["echo 'leaked S3cretPw'", "exit 3"]
    )

    with pytest.raises(SsmCommandFailed) as raised:
        run_script(
            online_instance,
            script,
            region=None,
            comment="failing",
            timeout_seconds=300,
            secrets_to_mask=["S3cretPw"],
        )

    error = raised.value
    assert error.status == "Failed"
    assert error.exit_code == 3
    assert "S3cretPw" not in str(error)
    assert "leaked ********" in str(error)
    assert "line 11" in str(error) and "line 10\n" not in str(error)
    assert "ended Failed with exit code 3" in str(error)


def test_run_script_ssm_fault_fail_raises(
    emulator: Emulator, online_instance: str
) -> None:
    set_faults(emulator, ssm="fail")

    with pytest.raises(SsmCommandFailed) as raised:
        run_script(
            online_instance, "echo ok", region=None, comment="x", timeout_seconds=300
        )

    assert raised.value.status == "Failed"


def test_run_script_ssm_fault_timeout_raises_timed_out(
    emulator: Emulator, online_instance: str
) -> None:
    set_faults(emulator, ssm="timeout")

    with pytest.raises(SsmCommandFailed) as raised:
        run_script(
            online_instance, "echo ok", region=None, comment="x", timeout_seconds=300
        )

    assert raised.value.status == "TimedOut"
    assert "ended TimedOut" in str(raised.value)
