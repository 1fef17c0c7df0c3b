"""Secrets Manager DeleteSecret dated on the simulated clock instead of moto's.

moto stamps a secret's deletion date from the wall clock, so a rehearsal reported
secrets going in a year that has nothing to do with the simulated one. The
secret itself is still deleted by moto; only the dates change. Known gap: a
secret past its simulated deletion date is not purged.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from . import moto_internals
from .moto_internals import MotoServiceError
from .server import (
    EmulatorRequest,
    EmulatorResponse,
    json_error,
    json_response,
)

if TYPE_CHECKING:
    from .server import Emulator

DEFAULT_RECOVERY_DAYS = 30


def delete_secret(request: EmulatorRequest) -> EmulatorResponse:
    """DeleteSecret through moto, with DeletionDate taken from the simulated clock."""
    params = request.params
    force = bool(params.get("ForceDeleteWithoutRecovery"))
    days = params.get("RecoveryWindowInDays")
    try:
        arn, name, deletion = moto_internals.delete_secret(
            request.region, params.get("SecretId", ""), days, force
        )
    except MotoServiceError as error:
        return json_error(error.status, error.code, error.message)

    if not force:
        deletion = _simulated_deletion(request.emulator, days)
        moto_internals.set_secret_deletion_date(request.region, arn, deletion)
    return json_response({"ARN": arn, "Name": name, "DeletionDate": deletion})


def _simulated_deletion(emulator: Emulator, days: Any) -> float:
    now = emulator.clock.datetime_at(emulator.clock.now())
    return (now + timedelta(days=int(days or DEFAULT_RECOVERY_DAYS))).timestamp()


def install(emulator: Emulator) -> None:
    """Answer Secrets Manager DeleteSecret with dates on the simulated clock."""
    emulator.register_operation("secretsmanager", "DeleteSecret", delete_secret)
