"""Fault plans: which failures the emulator injects, parsed from a spec or a dict.

Throttling and internal errors are drawn per AWS call from a seeded random
generator so a rehearsal repeats; the other faults are read by the models.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import EmulatorError

# The states each kind of resource can be held in by a `stuck` fault: those the
# models leave on their own as simulated time passes (INITIALIZED: a cluster
# that stays so after `cluster activate` instead of becoming ACTIVE).
STUCK_STATES: dict[str, tuple[str, ...]] = {
    "cluster": (
        "CREATE_IN_PROGRESS",
        "INITIALIZE_IN_PROGRESS",
        "INITIALIZED",
        "DELETE_IN_PROGRESS",
    ),
    "hsm": ("CREATE_IN_PROGRESS", "DELETE_IN_PROGRESS"),
    "key_store": ("CONNECTING", "DISCONNECTING"),
}
STUCK_KINDS = tuple(STUCK_STATES)
SSM_FAULTS = ("fail", "timeout")
# KMS ConnectionErrorCode values that a CloudHSM key store can report.
CONNECT_ERRORS = (
    "INVALID_CREDENTIALS",
    "CLUSTER_NOT_FOUND",
    "NETWORK_ERRORS",
    "INTERNAL_ERROR",
    "INSUFFICIENT_CLOUDHSM_HSMS",
    "USER_LOCKED_OUT",
    "USER_NOT_FOUND",
    "USER_LOGGED_IN",
    "SUBNET_NOT_FOUND",
    "INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET",
)
SPEC_KEYS = (
    "throttle=<0..1>",
    "internal=<0..1>",
    "stuck=<kind>:<STATE>",
    "connect_error=<CODE>[:<first N connects>]",
    "replace_first_hsm",
    "ssm=fail|timeout",
)

PLAN_KEYS = (
    "throttle",
    "internal",
    "stuck",
    "connect_error",
    "replace_first_hsm",
    "ssm",
)

Draw = Literal["throttled", "internal"] | None


class FaultSpecError(EmulatorError, ValueError):
    """A fault spec or dict names an unknown fault or an invalid value."""


@dataclass
class FaultPlan:
    throttle: float = 0.0
    internal: float = 0.0
    stuck: dict[str, str] = field(default_factory=dict)
    connect_error: str | None = None
    replace_first_hsm: bool = False
    ssm: str | None = None
    seed: int = 0
    _random: random.Random = field(init=False, repr=False, compare=False)
    _forced_connects: int = field(init=False, default=0, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._validate()

    @classmethod
    def from_spec(cls, spec: str, seed: int = 0) -> FaultPlan:
        """Parse `throttle=0.1,stuck=cluster:INITIALIZE_IN_PROGRESS,...`."""
        values: dict[str, Any] = {"stuck": {}}
        for token in filter(None, (t.strip() for t in spec.split(","))):
            key, _, value = token.partition("=")
            if key == "replace_first_hsm" and not value:
                values["replace_first_hsm"] = True
            elif key in ("throttle", "internal") and value:
                values[key] = _probability(token, value)
            elif key == "stuck" and value.count(":") == 1:
                kind, state = value.split(":")
                values["stuck"][kind] = state
            elif key in ("connect_error", "ssm") and value:
                values[key] = value
            else:
                raise FaultSpecError(
                    f"unknown or malformed fault {token!r} in {spec!r}; "
                    f"allowed: {', '.join(SPEC_KEYS)}"
                )
        return cls(**values, seed=seed)

    @classmethod
    def from_dict(cls, data: dict[str, Any], seed: int = 0) -> FaultPlan:
        """Build a plan from the JSON body of `POST /_emulator/faults`."""
        allowed = PLAN_KEYS
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise FaultSpecError(
                f"unknown fault {unknown[0]!r}; allowed: {', '.join(allowed)}"
            )
        if not isinstance(data.get("stuck", {}), dict):
            raise FaultSpecError(
                f'stuck must be an object like {{"cluster": "CREATE_IN_PROGRESS"}}, '
                f"not {data['stuck']!r}"
            )
        return cls(**data, seed=seed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "throttle": self.throttle,
            "internal": self.internal,
            "stuck": dict(self.stuck),
            "connect_error": self.connect_error,
            "replace_first_hsm": self.replace_first_hsm,
            "ssm": self.ssm,
        }

    def draw(self) -> Draw:
        """Decide whether the next AWS call is throttled, fails, or goes through."""
        if not (self.throttle or self.internal):
            return None
        roll = self._random.random()
        if roll < self.throttle:
            return "throttled"
        if roll < self.throttle + self.internal:
            return "internal"
        return None

    def stuck_state(self, kind: str) -> str | None:
        return self.stuck.get(kind)

    def forced_connect_error(self) -> str | None:
        """The ConnectionErrorCode the connect being decided must end with, if any.

        `CODE:N` forces it on the first N connects of this plan only, so a test
        can show a transient error cleared by a retry; plain `CODE` forces it on
        every connect.
        """
        if not self.connect_error:
            return None
        code, _, count = self.connect_error.partition(":")
        if count:
            if self._forced_connects >= int(count):
                return None
            self._forced_connects += 1
        return code

    def _validate(self) -> None:
        for name in ("throttle", "internal"):
            _probability(name, getattr(self, name))
        for kind, state in self.stuck.items():
            _check_stuck(kind, state)
        if self.connect_error is not None:
            _check_connect_error(self.connect_error)
        if self.ssm not in (None, *SSM_FAULTS):
            raise FaultSpecError(
                f"bad ssm fault {self.ssm!r}; allowed: {', '.join(SSM_FAULTS)}"
            )


def _check_stuck(kind: str, state: Any) -> None:
    if kind not in STUCK_STATES:
        raise FaultSpecError(
            f"bad stuck fault {kind}:{state}; the kind must be one of "
            f"{', '.join(STUCK_KINDS)}"
        )
    if state not in STUCK_STATES[kind]:
        raise FaultSpecError(
            f"bad stuck fault {kind}:{state}; a {kind} can be stuck only in "
            f"{', '.join(STUCK_STATES[kind])}, the states it leaves on its own"
        )


def _check_connect_error(value: str) -> None:
    code, colon, count = value.partition(":")
    if code not in CONNECT_ERRORS or (colon and not count.isdigit()):
        raise FaultSpecError(
            f"bad connect_error {value!r}; allowed: one of "
            f"{', '.join(CONNECT_ERRORS)}, optionally followed by :N to fail only "
            "the first N connects (e.g. NETWORK_ERRORS:1)"
        )


def _probability(name: str, value: Any) -> float:
    try:
        probability = float(value)
    except (TypeError, ValueError):
        probability = -1.0
    if not 0.0 <= probability <= 1.0:
        raise FaultSpecError(
            f"bad {name} probability {value!r}; give a number from 0 to 1"
        )
    return probability
