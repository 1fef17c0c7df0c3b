"""Input checking shared by the providers' `check` methods.

During preview Pulumi hands a provider the unknown-value sentinel for inputs
that depend on resources not made yet; every rule here lets those through and
checks them again at `up`, when they are known.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult
from pulumi.runtime.rpc import UNKNOWN

REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
CLUSTER_ID_PATTERN = re.compile(r"^cluster-[2-7a-zA-Z]{11,16}$")
HSM_ID_PATTERN = re.compile(r"^hsm-[2-7a-zA-Z]{11,16}$")
INSTANCE_ID_PATTERN = re.compile(r"^i-[0-9a-f]{8,17}$")
SECRET_ARN_PATTERN = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@!-]+$"
)
USERNAME_PATTERN = re.compile(r"^[a-zA-Z0-9_]{1,31}$")


def is_unknown(value: Any) -> bool:
    """True for the preview sentinel, also inside lists and dicts."""
    if isinstance(value, str):
        return value == UNKNOWN
    if isinstance(value, list):
        return any(is_unknown(item) for item in value)
    if isinstance(value, dict):
        return any(is_unknown(item) for item in value.values())
    return False


def input_props(args: Any) -> dict[str, Any]:
    """The fields of an Args dataclass as a props dict (Outputs left as they are)."""
    return {field.name: getattr(args, field.name) for field in dataclasses.fields(args)}


def as_int(value: Any) -> int:
    """Pulumi sends numbers as floats; state and AWS want ints."""
    return int(value)


class InputCheck:
    """Collects one `CheckFailure` per bad property of a resource's new inputs."""

    def __init__(self, news: dict[str, Any]) -> None:
        self.inputs = dict(news)
        self.failures: list[CheckFailure] = []

    def fail(self, prop: str, reason: str) -> None:
        self.failures.append(CheckFailure(prop, reason))

    def known(self, prop: str) -> bool:
        """True when the property is set and not the preview sentinel."""
        value = self.inputs.get(prop)
        return value is not None and not is_unknown(value)

    def integer(
        self, prop: str, low: int, high: int, default: int | None = None
    ) -> None:
        if self.inputs.get(prop) is None and default is not None:
            self.inputs[prop] = default
        if not self.known(prop):
            self._require(prop)
            return
        value = self.inputs[prop]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(prop, f"{prop} must be a whole number, got {value!r}.")
        elif value != int(value) or not low <= value <= high:
            self.fail(prop, f"{prop} must be from {low} to {high}, got {value!r}.")
        else:
            self.inputs[prop] = int(value)

    def choice(self, prop: str, allowed: tuple[int, ...] | tuple[str, ...]) -> None:
        if not self.known(prop):
            self._require(prop)
            return
        value = self.inputs[prop]
        if isinstance(value, float) and value.is_integer():
            value = self.inputs[prop] = int(value)
        if value not in allowed:
            shown = ", ".join(str(item) for item in allowed)
            self.fail(prop, f"{prop} must be one of {shown}, got {value!r}.")

    def boolean(self, prop: str, default: bool) -> None:
        if self.inputs.get(prop) is None:
            self.inputs[prop] = default
        value = self.inputs[prop]
        if not is_unknown(value) and not isinstance(value, bool):
            self.fail(prop, f"{prop} must be true or false, got {value!r}.")

    def text(self, prop: str, pattern: re.Pattern[str], allowed: str) -> None:
        """A required string matching `pattern`; `allowed` describes it in words."""
        if not self.known(prop):
            self._require(prop)
            return
        value = self.inputs[prop]
        if not isinstance(value, str) or not pattern.fullmatch(value):
            self.fail(prop, f"{prop} must be {allowed}, got {value!r}.")

    def optional_text(self, prop: str, pattern: re.Pattern[str], allowed: str) -> None:
        if self.inputs.get(prop) is not None:
            self.text(prop, pattern, allowed)

    def non_empty(self, prop: str, what: str) -> None:
        if not self.known(prop):
            self._require(prop)
            return
        value = self.inputs[prop]
        if not isinstance(value, str) or not value.strip():
            self.fail(prop, f"{prop} must be {what}, got {value!r}.")

    def region(self) -> None:
        self.optional_text(
            "region", REGION_PATTERN, "an AWS Region name such as us-east-1"
        )

    def result(self) -> CheckResult:
        return CheckResult(self.inputs, self.failures)

    def _require(self, prop: str) -> None:
        if prop not in self.inputs or self.inputs[prop] is None:
            self.fail(prop, f"{prop} is required.")


def changed_inputs(
    olds: dict[str, Any], news: dict[str, Any], args_type: type
) -> list[str]:
    """Inputs (fields of the Args dataclass) whose new value differs from the old."""
    return [
        field.name
        for field in dataclasses.fields(args_type)
        if _comparable(olds.get(field.name)) != _comparable(news.get(field.name))
    ]


def _comparable(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
