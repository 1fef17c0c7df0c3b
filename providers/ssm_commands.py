"""Run a shell script on the admin instance through SSM Run Command.

Scripts carry no secrets: they fetch passwords on the instance from Secrets
Manager by ARN, because SSM stores command parameters and lists them to anyone
allowed `ssm:ListCommands`, and they never print them. `run_script` masks in
the output only the values a caller passes as `secrets_to_mask`; the providers
pass none, since they never hold the passwords the instance reads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from providers import aws
from providers.errors import HsmCommandFailed, SsmCommandFailed
from providers.waiting import Clock, wait_for

DOCUMENT = "AWS-RunShellScript"
TAIL_LINES = 20
MASK = "********"
FAILED_STATUSES = frozenset({"Failed", "TimedOut", "Cancelled"})
# SendCommand's delivery timeout: how long the agent may take to pick it up.
DELIVERY_TIMEOUT_SECONDS = 600

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommandResult:
    """What a finished command left: status, exit code and output.

    stdout and stderr have the caller's `secrets_to_mask` replaced, if any.
    """

    command_id: str
    instance_id: str
    status: str
    exit_code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class _Invocation:
    state: str
    reply: dict[str, Any]


def run_script(
    instance_id: str,
    script: str,
    *,
    region: str | None,
    comment: str,
    timeout_seconds: float,
    secrets_to_mask: Sequence[str] = (),
    clock: Clock | None = None,
    expected_seconds: float = 10,
) -> CommandResult:
    """Run `script` with bash on the instance and return its result once Success.

    Every value in `secrets_to_mask` is replaced by asterisks in the output
    returned or raised; nothing else is masked. Raises `SsmCommandFailed` (exit
    code and the last lines of output) when the command ends Failed, TimedOut
    or Cancelled, and `WaitTimeout` when it does not end within
    `timeout_seconds`.
    """
    ssm = aws.client("ssm", region)
    command_id = _send(ssm, instance_id, script, comment, timeout_seconds)
    invocation = wait_for(
        lambda: _describe_invocation(ssm, command_id, instance_id),
        is_done=lambda current: current.state not in _RUNNING,
        resource=f"SSM command {command_id} ({comment}) on {instance_id}",
        expected_seconds=expected_seconds,
        timeout_seconds=timeout_seconds,
        clock=clock,
        min_interval=1,
        max_interval=15,
        next_step=_timeout_advice(command_id, instance_id),
    )

    result = _result(command_id, instance_id, invocation.reply, secrets_to_mask)
    if result.status != "Success":
        raise SsmCommandFailed(
            instance_id, command_id, result.status, result.exit_code, _tail(result)
        )
    return result


def wait_for_instance_online(
    instance_id: str,
    *,
    region: str | None,
    timeout_seconds: float,
    clock: Clock | None = None,
    expected_seconds: float = 180,
) -> None:
    """Wait until the SSM agent on the instance reports PingStatus Online."""
    ssm = aws.client("ssm", region)
    wait_for(
        lambda: _ping_status(ssm, instance_id),
        is_done=lambda status: status == "Online",
        resource=f"SSM agent on {instance_id}",
        expected_seconds=expected_seconds,
        timeout_seconds=timeout_seconds,
        clock=clock,
        next_step=(
            "Check that the instance runs, that its role has "
            "AmazonSSMManagedInstanceCore, and that its subnet reaches the SSM "
            "endpoints (NAT gateway or VPC endpoints); then run `pulumi up` again."
        ),
    )


def cli_replies(stdout: str) -> list[dict[str, Any]]:
    """Every JSON object cloudhsm-cli printed, in order (they may span lines)."""
    decoder = json.JSONDecoder()
    replies: list[dict[str, Any]] = []
    position = stdout.find("{")
    while position != -1:
        try:
            document, end = decoder.raw_decode(stdout, position)
        except json.JSONDecodeError:
            position = stdout.find("{", position + 1)
            continue
        if isinstance(document, dict) and "error_code" in document:
            replies.append(document)
        position = stdout.find("{", end)
    return replies


def cli_data(stdout: str, command: str) -> Any:
    """The `data` of the last cloudhsm-cli reply; raises if it is an error."""
    replies = cli_replies(stdout)
    if not replies:
        raise HsmCommandFailed(
            f"`cloudhsm-cli {command}` printed no JSON reply. Run it by hand on the "
            "admin instance to see why, then run `pulumi up` again."
        )
    reply = replies[-1]
    if reply.get("error_code") != 0:
        raise HsmCommandFailed(
            f"`cloudhsm-cli {command}` failed with error_code "
            f"{reply.get('error_code')}: {reply.get('data')}. Run it by hand on the "
            "admin instance to see why, then run `pulumi up` again."
        )
    return reply.get("data")


def mask(text: str, secrets_to_mask: Sequence[str]) -> str:
    """`text` with every non-empty secret replaced by asterisks."""
    for secret in secrets_to_mask:
        if secret:
            text = text.replace(secret, MASK)
    return text


_RUNNING = frozenset({"Pending", "InProgress", "Delayed", "Cancelling"})


def _send(
    ssm: Any, instance_id: str, script: str, comment: str, timeout_seconds: float
) -> str:
    reply = ssm.send_command(
        InstanceIds=[instance_id],
        DocumentName=DOCUMENT,
        Comment=comment[:100],
        TimeoutSeconds=DELIVERY_TIMEOUT_SECONDS,
        Parameters={
            "commands": script.splitlines(),
            "executionTimeout": [str(max(30, int(timeout_seconds)))],
        },
    )
    command_id = str(reply["Command"]["CommandId"])
    _LOG.debug("sent SSM command %s to %s (%s)", command_id, instance_id, comment)
    return command_id


def _describe_invocation(ssm: Any, command_id: str, instance_id: str) -> _Invocation:
    try:
        reply = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
    except ssm.exceptions.InvocationDoesNotExist:
        # SSM registers the invocation a moment after SendCommand answers.
        return _Invocation("Pending", {})
    return _Invocation(str(reply.get("Status", "Pending")), reply)


def _ping_status(ssm: Any, instance_id: str) -> str:
    reply = ssm.describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": [instance_id]}]
    )
    found = reply.get("InstanceInformationList", [])
    return str(found[0].get("PingStatus", "Unknown")) if found else "NotRegistered"


def _result(
    command_id: str,
    instance_id: str,
    reply: dict[str, Any],
    secrets_to_mask: Sequence[str],
) -> CommandResult:
    return CommandResult(
        command_id=command_id,
        instance_id=instance_id,
        status=str(reply.get("Status", "")),
        exit_code=int(reply.get("ResponseCode", -1)),
        stdout=mask(str(reply.get("StandardOutputContent", "")), secrets_to_mask),
        stderr=mask(str(reply.get("StandardErrorContent", "")), secrets_to_mask),
    )


def _tail(result: CommandResult) -> str:
    stdout = result.stdout.splitlines()[-TAIL_LINES:]
    stderr = result.stderr.splitlines()[-TAIL_LINES:]
    return "\n".join(["stdout:", *stdout, "stderr:", *stderr])


def _timeout_advice(command_id: str, instance_id: str) -> str:
    return (
        f"Look at `aws ssm get-command-invocation --command-id {command_id} "
        f"--instance-id {instance_id}`; cancel it if it hangs, then run "
        "`pulumi up` again."
    )
