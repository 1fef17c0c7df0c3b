"""SSM commands that fail or time out through the emulator's `ssm` fault: the
error carries the exit code and the last lines of output, secrets masked."""

from __future__ import annotations

import pytest

from providers.errors import SsmCommandFailed
from providers.ssm_commands import run_script
from rehearsal.emulator import Emulator
from tests.providers.conftest import set_faults
from tests.providers.test_ssm_commands import online_instance

__all__ = ["online_instance"]

SECRET = "Sup3rSecretPw"
SCRIPT = "\n".join(
    [f"echo step {n}" for n in range(25)] + [f"echo 'got {SECRET}'", "exit 0"]
)


@pytest.mark.parametrize(
    ("fault", "status"), [("fail", "Failed"), ("timeout", "TimedOut")]
)
def test_run_script_under_ssm_fault_reports_exit_code_and_masked_tail(
    emulator: Emulator, online_instance: str, fault: str, status: str
) -> None:
    set_faults(emulator, ssm=fault)

    with pytest.raises(SsmCommandFailed) as raised:
        run_script(
            online_instance,
            SCRIPT,
            region=None,
            comment="fault",
            timeout_seconds=300,
            secrets_to_mask=[SECRET],
        )

    message = str(raised.value)
    assert f"ended {status} with exit code {raised.value.exit_code}." in message
    assert "Last output lines:\nstdout:" in message
    assert SECRET not in message
    if fault == "timeout":
        assert "step 24\ngot ********" in message
        assert "step 5\n" not in message
