"""SSM Run Command for the emulator: AWS-RunShellScript really runs through bash
in the target instance's sandbox, and its status follows the simulated clock.

The script runs to completion (real timeout `REAL_TIMEOUT_SECONDS`) inside
SendCommand; GetCommandInvocation then answers InvocationDoesNotExist, then
Pending, then InProgress, then the outcome, as the simulated time passes. Only
AWS-RunShellScript is supported, for InstanceIds (not Targets). The `ssm=fail`
fault fails the invocation without running the script; `ssm=timeout` runs it
and reports TimedOut, as an agent that lost track of a script would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import hsm_cli
from .errors import EmulatorError
from .instances import InstanceFleet, ManagedInstance
from .server import EmulatorRequest, EmulatorResponse, json_error, json_response

if TYPE_CHECKING:
    from .server import Emulator

DOCUMENT_NAME = "AWS-RunShellScript"
PLUGIN_NAME = "aws:runShellScript"
STDOUT_LIMIT = 24_000
STDERR_LIMIT = 8_000
REAL_TIMEOUT_SECONDS = 60.0
TIMED_OUT_CODE = -1
# Invocation statuses of a command that has not finished yet.
RUNNING_STATUSES = ("Pending", "InProgress")
# Standard AWS variables passed from the emulator's environment to scripts.
RETRY_VARIABLES = ("AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE")


class SsmError(EmulatorError):
    """An SSM API error, answered to the client with its AWS error code."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ScriptResult:
    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool = False


@dataclass
class Invocation:
    instance_id: str
    result: ScriptResult
    forced: str | None  # the ssm fault in force at SendCommand


@dataclass
class Command:
    command_id: str
    document_name: str
    parameters: dict[str, list[str]]
    comment: str
    timeout_seconds: int
    requested_at: float
    invocations: dict[str, Invocation] = field(default_factory=dict)


class RunCommand:
    """The commands sent to emulated instances and how they ended."""

    def __init__(self, emulator: Emulator, fleet: InstanceFleet) -> None:
        self._emulator = emulator
        self._fleet = fleet
        self._lock = threading.Lock()
        self._commands: dict[str, Command] = {}

    def send_command(self, params: dict[str, Any]) -> Command:
        instances = self._target_instances(params)
        command = self._new_command(params)
        for instance in instances:
            command.invocations[instance.instance_id] = self._invoke(command, instance)

        with self._lock:
            self._commands[command.command_id] = command
        return command

    def command(self, command_id: str) -> Command:
        with self._lock:
            command = self._commands.get(command_id)
        if command is None:
            raise SsmError(
                "InvalidCommandId",
                f"Command {command_id} was not found; pass the CommandId that "
                "SendCommand returned.",
            )
        return command

    def commands(self) -> list[Command]:
        with self._lock:
            return sorted(self._commands.values(), key=lambda c: c.requested_at)

    def status(self, command: Command, invocation: Invocation) -> str:
        """Pending, InProgress, Success, Failed or TimedOut at the current time."""
        now = self._emulator.clock.now()
        if now < self.execution_start(command):
            return "Pending"
        if now - command.requested_at < self._emulator.profile.ssm_command:
            return "InProgress"
        if invocation.forced == "timeout" or invocation.result.timed_out:
            return "TimedOut"
        if invocation.forced == "fail" or invocation.result.exit_code != 0:
            return "Failed"
        return "Success"

    def execution_start(self, command: Command) -> float:
        """When the agent starts the script, so the invocation leaves Pending."""
        profile = self._emulator.profile
        pending_for = profile.invocation_not_found + profile.ssm_pending
        return command.requested_at + pending_for

    def visible(self, command: Command) -> bool:
        """GetCommandInvocation knows an invocation only after a short delay."""
        elapsed = self._emulator.clock.now() - command.requested_at
        return elapsed >= self._emulator.profile.invocation_not_found

    def _target_instances(self, params: dict[str, Any]) -> list[ManagedInstance]:
        _check_document(params)
        instance_ids = params.get("InstanceIds") or []
        if not instance_ids:
            raise SsmError(
                "InvalidParameters",
                "SendCommand needs InstanceIds; the emulator does not resolve Targets.",
            )
        return [self._online_instance(i) for i in instance_ids]

    def _online_instance(self, instance_id: str) -> ManagedInstance:
        instance = self._fleet.find(instance_id)
        if instance is None or not self._fleet.is_online(instance):
            raise SsmError(
                "InvalidInstanceId",
                f"Instances [[{instance_id}]] not in a valid state for account. "
                "The instance must be running, have an instance profile whose "
                "role has AmazonSSMManagedInstanceCore, and its SSM agent must "
                "have registered; wait until DescribeInstanceInformation lists it.",
            )
        return instance

    def _new_command(self, params: dict[str, Any]) -> Command:
        return Command(
            command_id=str(uuid.uuid4()),
            document_name=params["DocumentName"],
            parameters=params.get("Parameters") or {},
            comment=params.get("Comment", ""),
            timeout_seconds=int(params.get("TimeoutSeconds", 3600)),
            requested_at=self._emulator.clock.now(),
        )

    def _invoke(self, command: Command, instance: ManagedInstance) -> Invocation:
        forced = self._emulator.faults.ssm
        if forced == "fail":
            result = ScriptResult(1, "", "failed to run commands: injected ssm fault")
        else:
            sandbox = self._fleet.sandbox(instance)
            script = "\n".join(command.parameters.get("commands", []))
            timeout = _execution_timeout(command.parameters)
            env = self._script_env(instance)
            result = run_script(script, sandbox, env, timeout)
        return Invocation(instance.instance_id, result, forced)

    def _script_env(self, instance: ManagedInstance) -> dict[str, str]:
        sandbox = self._fleet.sandbox(instance)
        env = {
            "PATH": f"{sandbox}/usr/bin:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(sandbox),
            "FIPS_EMULATOR_URL": self._emulator.url,
            "LANG": "C.UTF-8",
        }
        env.update(
            {k: v for k, v in self._emulator.env().items() if k.startswith("AWS_")}
        )
        # A rehearsal may tune the instance CLI's retries like any AWS CLI's.
        env.update({k: os.environ[k] for k in RETRY_VARIABLES if k in os.environ})
        env["AWS_DEFAULT_REGION"] = instance.region
        return env


def run_script(
    script: str,
    sandbox: Path,
    env: dict[str, str],
    timeout: float = REAL_TIMEOUT_SECONDS,
) -> ScriptResult:
    """Run a shell script as the SSM agent would, inside `sandbox`."""
    text = script.replace("/opt/cloudhsm", f"{sandbox}/opt/cloudhsm")
    # A session of its own, so a timeout kills the script's children too
    # (a left-over `sleep` would otherwise hold the output pipes open).
    process = subprocess.Popen(
        ["bash", "-c", text],
        cwd=sandbox,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=min(timeout, REAL_TIMEOUT_SECONDS))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        return ScriptResult(TIMED_OUT_CODE, stdout, stderr, True)
    return ScriptResult(process.returncode, stdout, stderr)


def _execution_timeout(parameters: dict[str, list[str]]) -> float:
    values = parameters.get("executionTimeout") or ["3600"]
    try:
        return float(values[0])
    except ValueError as error:
        raise SsmError(
            "InvalidParameters",
            f"executionTimeout {values[0]!r} is not a number of seconds; pass "
            'a string such as "600".',
        ) from error


def _check_document(params: dict[str, Any]) -> None:
    name = params.get("DocumentName")
    if name != DOCUMENT_NAME:
        raise SsmError(
            "InvalidDocument",
            f"Document {name!r} is not supported by the emulator; use {DOCUMENT_NAME}.",
        )
    commands = (params.get("Parameters") or {}).get("commands")
    if not commands:
        raise SsmError(
            "InvalidParameters",
            f"{DOCUMENT_NAME} needs Parameters.commands, a list of shell lines.",
        )
    _execution_timeout(params["Parameters"])


OPERATIONS = (
    "SendCommand",
    "GetCommandInvocation",
    "ListCommands",
    "ListCommandInvocations",
    "DescribeInstanceInformation",
)


def install(emulator: Emulator) -> None:
    """Put Run Command and the instance fleet on the emulator and serve them."""
    fleet = InstanceFleet(emulator)
    api = RunCommandApi(emulator, fleet)
    emulator.models.instances = fleet
    emulator.models.ssm_run = api.run

    def record_launch(request: EmulatorRequest) -> EmulatorResponse | None:
        fleet.record_run_instances()
        return None

    emulator.register_operation("ec2", "RunInstances", record_launch)
    for operation in OPERATIONS:
        emulator.register_operation("ssm", operation, _answer(api, operation))
    hsm_cli.install(emulator)


def _answer(
    api: RunCommandApi, operation: str
) -> Callable[[EmulatorRequest], EmulatorResponse]:
    method = getattr(api, operation)

    def handle(request: EmulatorRequest) -> EmulatorResponse:
        try:
            return json_response(method(request.params))
        except SsmError as error:
            return json_error(error.status, error.code, error.message)

    return handle


class RunCommandApi:
    """The SSM operations on Run Command, in AWS's JSON shapes."""

    def __init__(self, emulator: Emulator, fleet: InstanceFleet) -> None:
        self._emulator = emulator
        self._fleet = fleet
        self.run = RunCommand(emulator, fleet)

    def SendCommand(self, params: dict[str, Any]) -> dict[str, Any]:
        command = self.run.send_command(params)
        return {"Command": self._command_entry(command)}

    def GetCommandInvocation(self, params: dict[str, Any]) -> dict[str, Any]:
        command = self.run.command(params.get("CommandId", ""))
        instance_id = params.get("InstanceId", "")
        invocation = command.invocations.get(instance_id)
        if invocation is None or not self.run.visible(command):
            raise SsmError(
                "InvocationDoesNotExist",
                f"No invocation of command {command.command_id} on instance "
                f"{instance_id!r} yet; it can take a moment to appear after "
                "SendCommand, so retry.",
            )
        return self._invocation_result(command, invocation)

    def ListCommands(self, params: dict[str, Any]) -> dict[str, Any]:
        commands = self._selected(params)
        return {"Commands": [self._command_entry(c) for c in commands]}

    def ListCommandInvocations(self, params: dict[str, Any]) -> dict[str, Any]:
        details = bool(params.get("Details"))
        instance_id = params.get("InstanceId")
        entries = [
            self._invocation_entry(command, invocation, details)
            for command in self._selected(params)
            for invocation in command.invocations.values()
            if instance_id in (None, invocation.instance_id)
        ]
        return {"CommandInvocations": entries}

    def DescribeInstanceInformation(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted = _wanted_instance_ids(params)
        online = [i for i in self._fleet.all() if self._fleet.is_online(i)]
        return {
            "InstanceInformationList": [
                self._instance_information(i)
                for i in online
                if wanted is None or i.instance_id in wanted
            ]
        }

    def _selected(self, params: dict[str, Any]) -> list[Command]:
        if params.get("CommandId"):
            commands = [self.run.command(params["CommandId"])]
        else:
            commands = self.run.commands()
        instance_id = params.get("InstanceId")
        return [c for c in commands if instance_id in (None, *c.invocations)]

    def _command_entry(self, command: Command) -> dict[str, Any]:
        statuses = [self.run.status(command, i) for i in command.invocations.values()]
        finished = [s for s in statuses if s not in RUNNING_STATUSES]
        return {
            "CommandId": command.command_id,
            "DocumentName": command.document_name,
            "DocumentVersion": "$DEFAULT",
            "Comment": command.comment,
            "Parameters": command.parameters,
            "InstanceIds": list(command.invocations),
            "Targets": [],
            "RequestedDateTime": self._timestamp(command.requested_at),
            "Status": _overall_status(statuses),
            "StatusDetails": _overall_status(statuses),
            "TimeoutSeconds": command.timeout_seconds,
            "TargetCount": len(statuses),
            "CompletedCount": len(finished),
            "ErrorCount": sum(s in ("Failed", "TimedOut") for s in finished),
            "DeliveryTimedOutCount": 0,
            "MaxConcurrency": "50",
            "MaxErrors": "0",
        }

    def _invocation_result(
        self, command: Command, invocation: Invocation
    ) -> dict[str, Any]:
        status = self.run.status(command, invocation)
        finished = status not in RUNNING_STATUSES
        result = invocation.result
        start = self.run.execution_start(command)
        end = command.requested_at + self._emulator.profile.ssm_command
        return {
            "CommandId": command.command_id,
            "InstanceId": invocation.instance_id,
            "Comment": command.comment,
            "DocumentName": command.document_name,
            "DocumentVersion": "$DEFAULT",
            "PluginName": PLUGIN_NAME,
            "ResponseCode": _response_code(status, result) if finished else -1,
            "ExecutionStartDateTime": "" if status == "Pending" else self._iso(start),
            "ExecutionElapsedTime": "",
            "ExecutionEndDateTime": self._iso(end) if finished else "",
            "Status": status,
            "StatusDetails": _status_details(status),
            "StandardOutputContent": result.stdout[:STDOUT_LIMIT] if finished else "",
            "StandardOutputUrl": "",
            "StandardErrorContent": result.stderr[:STDERR_LIMIT] if finished else "",
            "StandardErrorUrl": "",
            "CloudWatchOutputConfig": {
                "CloudWatchLogGroupName": "",
                "CloudWatchOutputEnabled": False,
            },
        }

    def _invocation_entry(
        self, command: Command, invocation: Invocation, details: bool
    ) -> dict[str, Any]:
        status = self.run.status(command, invocation)
        entry: dict[str, Any] = {
            "CommandId": command.command_id,
            "InstanceId": invocation.instance_id,
            "Comment": command.comment,
            "DocumentName": command.document_name,
            "DocumentVersion": "$DEFAULT",
            "RequestedDateTime": self._timestamp(command.requested_at),
            "Status": status,
            "StatusDetails": _status_details(status),
            "CommandPlugins": [],
        }
        if details:
            result = self._invocation_result(command, invocation)
            entry["CommandPlugins"] = [
                {
                    "Name": PLUGIN_NAME,
                    "Status": status,
                    "StatusDetails": _status_details(status),
                    "ResponseCode": result["ResponseCode"],
                    "Output": result["StandardOutputContent"][:2500],
                }
            ]
        return entry

    def _instance_information(self, instance: ManagedInstance) -> dict[str, Any]:
        online_at = instance.launch_time + self._emulator.profile.instance_ssm_online
        return {
            "InstanceId": instance.instance_id,
            "PingStatus": "Online",
            "LastPingDateTime": self._timestamp(self._emulator.clock.now()),
            "AgentVersion": "3.3.0.0",
            "IsLatestVersion": True,
            "PlatformType": "Linux",
            "PlatformName": "Amazon Linux",
            "PlatformVersion": "2023",
            "IamRole": instance.role_name or "",
            "RegistrationDate": self._timestamp(online_at),
            "ResourceType": "EC2Instance",
            "IPAddress": instance.private_ip or "",
            "ComputerName": f"{instance.instance_id}.ec2.internal",
            "SourceId": instance.instance_id,
            "SourceType": "AWS::EC2::Instance",
        }

    def _timestamp(self, t: float) -> float:
        return self._emulator.clock.datetime_at(t).timestamp()

    def _iso(self, t: float) -> str:
        moment = self._emulator.clock.datetime_at(t)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _wanted_instance_ids(params: dict[str, Any]) -> set[str] | None:
    wanted: set[str] | None = None
    for entry in params.get("InstanceInformationFilterList") or []:
        if entry.get("key") == "InstanceIds":
            wanted = set(entry.get("valueSet") or [])
    for entry in params.get("Filters") or []:
        if entry.get("Key") == "InstanceIds":
            wanted = set(entry.get("Values") or [])
    return wanted


def _overall_status(statuses: list[str]) -> str:
    if statuses and all(s == "Pending" for s in statuses):
        return "Pending"
    if not statuses or any(s in RUNNING_STATUSES for s in statuses):
        return "InProgress"
    for status in ("TimedOut", "Failed"):
        if status in statuses:
            return status
    return "Success"


def _status_details(status: str) -> str:
    return {"TimedOut": "ExecutionTimedOut", "InProgress": "InProgress"}.get(
        status, status
    )


def _response_code(status: str, result: ScriptResult) -> int:
    if status == "TimedOut":
        return TIMED_OUT_CODE
    if status == "Failed" and result.exit_code == 0:
        return 1
    return result.exit_code
