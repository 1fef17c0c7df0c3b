"""Shell script pieces that drive Client SDK 5 `cloudhsm-cli` on the admin instance.

Passwords never appear in a script: each script reads them on the instance from
Secrets Manager into a shell variable and hands them to `cloudhsm-cli` through
the CLOUDHSM_PIN environment variable or standard input (`printf` is a bash
builtin, so no process's argument list ever holds them). No `set -x`: it would
echo the variables into the command output that SSM stores.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from providers._inputs import as_int
from providers.errors import HsmCommandFailed, SsmCommandFailed
from providers.ssm_commands import CommandResult, cli_data, cli_replies, run_script

CLI = "/opt/cloudhsm/bin/cloudhsm-cli"
CONFIGURE = "/opt/cloudhsm/bin/configure-cli"
TRUST_ANCHOR_PATH = "/opt/cloudhsm/etc/customerCA.crt"
PEM_END_MARKER = "FIPS_KEYSTORE_TRUST_ANCHOR_EOF"
IP_PATTERN = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")

# Exit codes the scripts use to say which step failed.
EXIT_LOGIN_FAILED = 21
EXIT_COMMAND_FAILED = 22

HEADER = "#!/bin/bash\nset -euo pipefail\numask 077\n"


@dataclass(frozen=True)
class HsmUser:
    """One line of `user list`."""

    username: str
    role: str
    cluster_coverage: str


def client_present_probe() -> str:
    """A script that prints `present` once the Client SDK 5 CLI is installed."""
    return (
        f"{HEADER}if [ -x {CLI} ] && [ -x {CONFIGURE} ]; then echo present; "
        "else echo absent; fi\n"
    )


def install_trust_anchor(trust_anchor_pem: str) -> str:
    """Write the (public) trust anchor where the client looks for it."""
    if PEM_END_MARKER in trust_anchor_pem:
        raise HsmCommandFailed(
            f"The trust anchor PEM contains {PEM_END_MARKER}; give a plain PEM "
            "certificate."
        )
    return (
        f"mkdir -p {shlex.quote(TRUST_ANCHOR_PATH.rsplit('/', 1)[0])}\n"
        f"cat > {TRUST_ANCHOR_PATH} <<'{PEM_END_MARKER}'\n"
        f"{trust_anchor_pem.strip()}\n{PEM_END_MARKER}\n"
        f"chmod 644 {TRUST_ANCHOR_PATH}\n"
    )


def configure_client(hsm_ips: Sequence[str]) -> str:
    """Point the client at these HSMs (`configure-cli -a IP [IP...]`)."""
    for ip in hsm_ips:
        if not IP_PATTERN.fullmatch(ip):
            raise HsmCommandFailed(
                f"HSM IP address {ip!r} is not an IPv4 address; pass the HSMs' "
                "EniIp values."
            )
    addresses = " ".join(shlex.quote(ip) for ip in hsm_ips)
    return f"{CONFIGURE} -a {addresses}\n"


def fetch_secret(variable: str, secret_arn: str) -> str:
    """Read a secret on the instance into a shell variable (never printed)."""
    return (
        f"{variable}=$(aws secretsmanager get-secret-value --secret-id "
        f"{shlex.quote(secret_arn)} --query SecretString --output text)\n"
    )


def as_admin(password_variable: str) -> str:
    """Export the single-command login of cloudhsm-cli as admin."""
    return (
        "export CLOUDHSM_ROLE=admin\n"
        f'export CLOUDHSM_PIN="admin:${{{password_variable}}}"\n'
    )


def run_cli(arguments: str, exit_code: int, stdin_variable: str | None = None) -> str:
    """Run one cloudhsm-cli command, print its JSON, exit `exit_code` on error.

    With `stdin_variable`, the variable is written twice on standard input, for
    the "Enter password:" and "Confirm password:" prompts.
    """
    feed = ""
    if stdin_variable:
        feed = f'printf \'%s\\n%s\\n\' "${stdin_variable}" "${stdin_variable}" | '
    return (
        f'if OUT=$({feed}{CLI} {arguments} 2>&1); then echo "$OUT"; '
        f'else echo "$OUT"; exit {exit_code}; fi\n'
    )


def script(*parts: str) -> str:
    """Join script parts under the strict-mode header."""
    return HEADER + "".join(parts)


def run_as_admin(
    props: dict[str, Any],
    hsm_ips: Sequence[str],
    commands: str,
    purpose: str,
    next_step: str = "",
) -> CommandResult:
    """Run `commands` logged in as admin, the client configured for `hsm_ips`.

    `props` are a provider's: instance_id, cluster_id, admin_password_secret_arn,
    timeout_seconds and region. A failure names `purpose`, the last cloudhsm-cli
    reply and `next_step`.
    """
    body = script(
        configure_client(hsm_ips),
        fetch_secret("ADMIN_PW", props["admin_password_secret_arn"]),
        as_admin("ADMIN_PW"),
        commands,
    )
    try:
        return run_script(
            props["instance_id"],
            body,
            region=props.get("region"),
            comment=f"fips-keystore: {purpose} on {props['cluster_id']}"[:100],
            timeout_seconds=as_int(props["timeout_seconds"]),
        )
    except SsmCommandFailed as error:
        raise HsmCommandFailed(
            f"cloudhsm-cli on {props['instance_id']} failed to {purpose} on cluster "
            f"{props['cluster_id']}: {last_reply_message(error.output_tail)}. "
            f"{next_step}{error}"
        ) from error


def users_from(result: CommandResult) -> list[HsmUser]:
    """The users of the last `user list` reply in a command's output."""
    data = cli_data(result.stdout, "user list")
    users: list[dict[str, Any]] = list((data or {}).get("users", []))
    return [
        HsmUser(
            username=str(user.get("username", "")),
            role=str(user.get("role", "")),
            cluster_coverage=str(user.get("cluster-coverage", "")),
        )
        for user in users
    ]


def last_reply_message(stdout: str) -> str:
    """The `data` of the last cloudhsm-cli reply, for error messages."""
    replies = cli_replies(stdout)
    return str(replies[-1].get("data")) if replies else "no reply"
