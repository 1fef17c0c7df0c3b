"""In-process `cloudhsm-cli` and `configure-cli` for the emulated instances.

The executables in `bin/` post their arguments, standard input and
`CLOUDHSM_ROLE` / `CLOUDHSM_PIN` to `POST /_emulator/hsm/command`; the command
runs here against the HSM simulator of the cluster the instance's sandbox is
configured for. Like the real client, `cloudhsm-cli` refuses to talk to the
cluster unless `customerCA.crt` is the cluster's trust anchor and every
configured address is an ACTIVE HSM of that one cluster. Supported commands:
`cluster activate`, `cluster hsm-info`, `user list`, `user create`,
`user delete`, `user change-password`; no interactive mode, no keys, no MFA.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509

from .errors import EmulatorError
from .hsm import HsmCommandError, HsmSimulator
from .instances import sandbox_path
from .server import ControlRequestError

if TYPE_CHECKING:
    from .cloudhsm import Cluster
    from .server import Emulator

ROUTE = "/_emulator/hsm/command"
CONFIG_PATH = "opt/cloudhsm/etc/cloudhsm-cli.cfg"
TRUST_ANCHOR_PATH = "opt/cloudhsm/etc/customerCA.crt"
PROGRAMS = ("cloudhsm-cli", "configure-cli")
USAGE_EXIT = 2
_INSTANCE_ID = re.compile(r"i-[0-9a-f]{8,17}")
# Options each command accepts, and whether it needs an admin session.
COMMANDS: dict[tuple[str, str], tuple[tuple[str, ...], bool]] = {
    ("cluster", "activate"): (("--password",), False),
    ("cluster", "hsm-info"): ((), False),
    ("user", "list"): ((), False),
    ("user", "create"): (("--username", "--role", "--password"), True),
    ("user", "delete"): (("--username", "--role"), True),
    ("user", "change-password"): (("--username", "--role", "--password"), True),
}


class CliFailure(EmulatorError):
    """A simulated client command failed; printed as `{"error_code": 1, ...}`."""


@dataclass(frozen=True)
class CliInvocation:
    """One run of a client tool on an emulated instance."""

    program: str
    args: list[str]
    stdin: str
    role: str | None
    pin: str | None = None

    def __repr__(self) -> str:
        # The PIN and standard input carry passwords.
        return f"CliInvocation({self.program!r}, {self.args[:2]!r})"


@dataclass(frozen=True)
class CliOutcome:
    exit_code: int
    stdout: str
    stderr: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "stdout": self.stdout,
            "stderr": self.stderr,
        }


class CloudHsmClient:
    """The Client SDK 5 tools of every sandbox, bound to the emulated clusters."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator

    def run(self, sandbox: Path, invocation: CliInvocation) -> CliOutcome:
        if invocation.program == "configure-cli":
            return configure(sandbox, invocation.args)
        try:
            command, options = _parse(invocation.args)
        except CliFailure as error:
            return CliOutcome(USAGE_EXIT, "", f"error: {error}\n")

        try:
            data = self._execute(sandbox, command, options, invocation)
        except (CliFailure, HsmCommandError) as error:
            return _reply(1, str(error))
        return _reply(0, data)

    def _execute(
        self,
        sandbox: Path,
        command: tuple[str, str],
        options: dict[str, str],
        invocation: CliInvocation,
    ) -> Any:
        cluster, hsm_ids = self._connect(sandbox)
        simulator = cluster.simulator
        if command == ("cluster", "activate"):
            simulator.activate(_new_password(options, invocation.stdin))
            return "Cluster activation successful"
        if command == ("cluster", "hsm-info"):
            return {"hsms": [self._hsm_info(cluster, h) for h in hsm_ids]}

        self._login(simulator, invocation, admin=COMMANDS[command][1])
        if command == ("user", "list"):
            return {"users": simulator.list_users()}
        return self._change_users(simulator, command, options, invocation, hsm_ids)

    def _change_users(
        self,
        simulator: HsmSimulator,
        command: tuple[str, str],
        options: dict[str, str],
        invocation: CliInvocation,
        hsm_ids: list[str],
    ) -> dict[str, str]:
        username = _required(options, "--username")
        role = _required(options, "--role")
        if command == ("user", "delete"):
            simulator.delete_user(username, role)
        elif command == ("user", "create"):
            password = _new_password(options, invocation.stdin)
            simulator.create_user(username, role, password)
            _limit_to_configured(simulator, username, hsm_ids)
        else:
            password = _new_password(options, invocation.stdin)
            simulator.change_password(username, role, password)
        return {"username": username.lower(), "role": role}

    def _connect(self, sandbox: Path) -> tuple[Cluster, list[str]]:
        """The cluster the sandbox's configuration and trust anchor reach."""
        addresses = _configured_addresses(sandbox)
        cluster = self._one_cluster(addresses)
        hsm_ids = self._active_hsms_at(cluster, addresses)
        _check_trust_anchor(sandbox, cluster)
        return cluster, hsm_ids

    def _one_cluster(self, addresses: list[str]) -> Cluster:
        model = self._emulator.models.cloudhsm
        cluster_ids = {model.cluster_for_ip(ip) for ip in addresses}
        if None in cluster_ids or len(cluster_ids) != 1:
            raise CliFailure(
                f"Failed to connect to the HSMs at {', '.join(addresses)}: they are "
                "not HSMs of one cluster. Run configure-cli -a with the EniIp of "
                "the cluster's ACTIVE HSMs (DescribeClusters lists them)."
            )
        cluster: Cluster = model.cluster(cluster_ids.pop())
        return cluster

    def _active_hsms_at(self, cluster: Cluster, addresses: list[str]) -> list[str]:
        active = set(cluster.active_hsm_ids())
        by_ip = {h.eni_ip: h.hsm_id for h in cluster.hsms}
        unreachable = [ip for ip in addresses if by_ip.get(ip) not in active]
        if unreachable:
            raise CliFailure(
                f"Failed to connect to the HSM at {unreachable[0]}: it is not ACTIVE "
                f"in cluster {cluster.cluster_id}. Wait until the HSM is ACTIVE, "
                "or run configure-cli -a with the addresses of ACTIVE HSMs."
            )
        return [by_ip[ip] for ip in addresses]

    def _login(
        self, simulator: HsmSimulator, invocation: CliInvocation, admin: bool
    ) -> None:
        if not invocation.pin:
            if admin:
                raise CliFailure(
                    "This command needs a logged-in admin: set CLOUDHSM_ROLE=admin "
                    "and CLOUDHSM_PIN=<username>:<password>."
                )
            return
        username, _, password = invocation.pin.partition(":")
        role = invocation.role or ""
        if admin and role != "admin":
            raise CliFailure(
                f"This command needs the admin role, but CLOUDHSM_ROLE is {role!r}; "
                "set CLOUDHSM_ROLE=admin."
            )
        simulator.login(username, role, password)

    def _hsm_info(self, cluster: Cluster, hsm_id: str) -> dict[str, Any]:
        hsm = next(h for h in cluster.hsms if h.hsm_id == hsm_id)
        return {
            "hsm-id": hsm.hsm_id,
            "cluster-id": cluster.cluster_id,
            "eni-ip": hsm.eni_ip,
            "availability-zone": hsm.availability_zone,
            "state": "ACTIVE",
            "fips-state": "2 [FIPS mode with single factor authentication]",
        }


def configure(sandbox: Path, args: list[str]) -> CliOutcome:
    """`configure-cli -a IP [IP...]`: replace the HSM addresses of the client."""
    addresses: list[str] = []
    words = list(args)
    while words:
        word = words.pop(0)
        if word in ("-a", "--hsm-ip-addresses"):
            while words and not words[0].startswith("-"):
                addresses.append(words.pop(0))
        elif word == "--disable-key-availability-check":
            continue
        else:
            return CliOutcome(
                USAGE_EXIT, "", f"error: unexpected argument '{word}' found\n"
            )
    if not addresses:
        return CliOutcome(
            USAGE_EXIT, "", "error: -a needs at least one HSM IP address\n"
        )
    config = sandbox / CONFIG_PATH
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({"hsm_ip_addresses": addresses}))
    return CliOutcome(0, "")


def install(emulator: Emulator) -> None:
    """Serve the simulators' calls (see the module docstring)."""
    client = CloudHsmClient(emulator)
    emulator.models.hsm_client = client

    def command(payload: dict[str, Any]) -> dict[str, Any]:
        sandbox, invocation = _invocation(emulator, payload)
        return client.run(sandbox, invocation).to_json()

    emulator.register_route("POST", ROUTE, command)


def _invocation(
    emulator: Emulator, payload: dict[str, Any]
) -> tuple[Path, CliInvocation]:
    instance_id = str(payload.get("instance_id", ""))
    program = payload.get("program")
    args = payload.get("args")
    if not _INSTANCE_ID.fullmatch(instance_id) or program not in PROGRAMS:
        raise ControlRequestError(
            f"hsm command needs an instance_id like i-0123456789abcdef0 and a "
            f"program among {', '.join(PROGRAMS)}; got {instance_id!r}, {program!r}"
        )
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ControlRequestError("hsm command args must be a list of strings")
    invocation = CliInvocation(
        program=program,
        args=args,
        stdin=str(payload.get("stdin") or ""),
        role=payload.get("role"),
        pin=payload.get("pin"),
    )
    return sandbox_path(emulator.workdir, instance_id), invocation


def _parse(args: list[str]) -> tuple[tuple[str, str], dict[str, str]]:
    if len(args) < 2 or (args[0], args[1]) not in COMMANDS:
        known = ", ".join(" ".join(c) for c in COMMANDS)
        raise CliFailure(
            f"unrecognized subcommand '{' '.join(args[:2])}'; the emulator's "
            f"cloudhsm-cli supports: {known}"
        )
    command = (args[0], args[1])
    allowed = COMMANDS[command][0]
    options: dict[str, str] = {}
    words = args[2:]
    while words:
        word = words.pop(0)
        if word not in allowed or not words:
            raise CliFailure(f"unexpected argument '{word}' found")
        options[word] = words.pop(0)
    return command, options


def _reply(error_code: int, data: Any) -> CliOutcome:
    body = json.dumps({"error_code": error_code, "data": data}, indent=2)
    return CliOutcome(error_code, body + "\n")


def _required(options: dict[str, str], name: str) -> str:
    if name not in options:
        raise CliFailure(f"the following required argument was not provided: {name}")
    return options[name]


def _new_password(options: dict[str, str], stdin: str) -> str:
    """A new password from --password, or from the two prompts on stdin."""
    if "--password" in options:
        return options["--password"]
    lines = stdin.splitlines()
    if len(lines) < 2:
        raise CliFailure(
            "Expected the new password twice on standard input (Enter password:, "
            "Confirm password:); give it on two lines."
        )
    if lines[0] != lines[1]:
        raise CliFailure("Passwords do not match. Enter the same password twice.")
    return lines[0]


def _configured_addresses(sandbox: Path) -> list[str]:
    config = sandbox / CONFIG_PATH
    try:
        addresses = json.loads(config.read_text())["hsm_ip_addresses"]
    except (OSError, ValueError, KeyError) as error:
        raise CliFailure(
            f"No HSM addresses configured ({config.name} missing or unreadable). "
            "Run /opt/cloudhsm/bin/configure-cli -a <HSM IP> first."
        ) from error
    return [str(a) for a in addresses]


def _check_trust_anchor(sandbox: Path, cluster: Cluster) -> None:
    path = sandbox / TRUST_ANCHOR_PATH
    installed = _certificate_der(path.read_text()) if path.exists() else None
    expected = _certificate_der(cluster.trust_anchor or "")
    if installed is None or installed != expected:
        raise CliFailure(
            f"TLS handshake with cluster {cluster.cluster_id} failed: "
            "/opt/cloudhsm/etc/customerCA.crt is missing or is not the trust "
            "anchor the cluster was initialized with. Copy that certificate there."
        )


def _certificate_der(pem: str) -> bytes | None:
    try:
        return x509.load_pem_x509_certificate(pem.encode()).tbs_certificate_bytes
    except ValueError:
        return None


def _limit_to_configured(
    simulator: HsmSimulator, username: str, hsm_ids: list[str]
) -> None:
    # The real client creates a user only on the HSMs it is configured for;
    # HsmSimulator.create_user puts it on every ACTIVE HSM, so narrow it here.
    user = simulator._users[username.lower()]
    user.hsm_ids &= set(hsm_ids)
