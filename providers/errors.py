"""Exceptions raised by the fips-keystore dynamic providers.

Every error derives from `FipsKeystoreError`, so the program and the rehearsal
engine can tell a provider failure from a bug with one `except` clause.
"""

from __future__ import annotations


class FipsKeystoreError(Exception):
    """Base of every error the fips-keystore providers raise on purpose."""


class WaitTimeout(FipsKeystoreError):
    """A wait passed its deadline; carries the resource and the last state seen."""

    def __init__(
        self, resource: str, last_state: str, waited_seconds: float, next_step: str
    ) -> None:
        self.resource = resource
        self.last_state = last_state
        self.waited_seconds = waited_seconds
        super().__init__(
            f"{resource}: still {last_state} after waiting "
            f"{format_duration(waited_seconds)}, past the deadline. {next_step}"
        )


class ResourceFailed(FipsKeystoreError):
    """An AWS resource reached a state it cannot leave by itself."""

    def __init__(self, resource: str, state: str, next_step: str) -> None:
        self.resource = resource
        self.state = state
        super().__init__(f"{resource}: reached state {state}. {next_step}")


class SsmCommandFailed(FipsKeystoreError):
    """A script sent through SSM Run Command ended in a state other than Success."""

    def __init__(
        self,
        instance_id: str,
        command_id: str,
        status: str,
        exit_code: int,
        output_tail: str,
    ) -> None:
        self.instance_id = instance_id
        self.command_id = command_id
        self.status = status
        self.exit_code = exit_code
        self.output_tail = output_tail
        super().__init__(
            f"SSM command {command_id} on {instance_id} ended {status} with exit "
            f"code {exit_code}. Last output lines:\n{output_tail}\n"
            f"See `aws ssm get-command-invocation --command-id {command_id} "
            f"--instance-id {instance_id}` for the full output, fix the cause and "
            "run `pulumi up` again."
        )


class HsmCommandFailed(FipsKeystoreError):
    """cloudhsm-cli on the admin instance answered with an error."""


class IdentityVerificationError(FipsKeystoreError):
    """The HSM's certificates do not prove that it is a genuine AWS CloudHSM."""


class CertificateError(FipsKeystoreError):
    """A certificate or key given to or made by the providers is not usable."""


class ClusterStateError(FipsKeystoreError):
    """The cluster is in a state the requested operation cannot start from."""


class KeyStoreConnectionError(FipsKeystoreError):
    """KMS could not connect the custom key store to its CloudHSM cluster."""

    def __init__(self, custom_key_store_id: str, error_code: str, advice: str) -> None:
        self.custom_key_store_id = custom_key_store_id
        self.error_code = error_code
        super().__init__(
            f"Custom key store {custom_key_store_id} failed to connect: "
            f"{error_code}. {advice}"
        )


def format_duration(seconds: float) -> str:
    """Render seconds the way progress lines show them, e.g. `3m12s`."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
