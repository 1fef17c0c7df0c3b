"""A local AWS for rehearsals: moto over HTTP, extended with our CloudHSM, KMS
key store and SSM models, a simulated clock and injectable faults.

Plug-in contract: when an `Emulator` is built it imports, if present, the
modules `rehearsal.emulator.cloudhsm`, `.kms_key_stores` and `.ssm_run`, and
calls each one's `install(emulator: Emulator) -> None`. `install` puts its model
on `emulator.models.<name>` and registers its handlers with
`emulator.register_operation(service, operation, handler)` (a handler takes an
`EmulatorRequest` and returns an `EmulatorResponse`, or None to let moto
answer) and `emulator.register_route(method, "/_emulator/...", handler)` (a
handler takes the JSON payload as a dict and returns something JSON-able, or
raises `ControlRequestError` for HTTP 400). A missing plug-in is skipped; a
plug-in that fails to import fails loudly.

Everything that reaches into moto's internals (its backends, model attributes
and server class) is in `moto_internals`, pinned to one moto release and
contract-tested in tests/emulator/test_moto_internals.py.
"""

from .calls import CallLog, RecordedCall
from .clock import SimulatedClock
from .errors import EmulatorError
from .faults import FaultPlan, FaultSpecError
from .profiles import PROFILES, TimingProfile
from .server import (
    ControlRequestError,
    Emulator,
    EmulatorRequest,
    EmulatorResponse,
    json_error,
    json_response,
    query_error,
)

__all__ = [
    "PROFILES",
    "CallLog",
    "ControlRequestError",
    "Emulator",
    "EmulatorError",
    "EmulatorRequest",
    "EmulatorResponse",
    "FaultPlan",
    "FaultSpecError",
    "RecordedCall",
    "SimulatedClock",
    "TimingProfile",
    "json_error",
    "json_response",
    "query_error",
]
