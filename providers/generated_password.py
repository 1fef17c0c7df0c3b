"""A random alphanumeric password made once and kept, secret, in stack state.

Used for the HSM admin and `kmsuser` passwords when the stack config sets none.
Alphanumeric only, because KMS once rejected other characters in `kmsuser`
passwords, and 7-32 characters, the HSM's password length rule.
"""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi import ResourceOptions
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from providers._inputs import InputCheck, as_int, input_props, is_unknown

ALPHABET = string.ascii_letters + string.digits
MIN_LENGTH = 7
MAX_LENGTH = 32


def generate_password(length: int) -> str:
    """A password of `length` characters drawn from [A-Za-z0-9] by `secrets`."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


class GeneratedPasswordProvider(ResourceProvider):
    """Makes the password in create and never again unless the length changes."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = InputCheck(news)
        inputs.integer("length", MIN_LENGTH, MAX_LENGTH, default=MAX_LENGTH)
        return inputs.result()

    def create(self, props: dict[str, Any]) -> CreateResult:
        length = as_int(props["length"])
        outs = {"length": length, "value": generate_password(length)}
        return CreateResult(f"password-{uuid.uuid4().hex}", outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if is_unknown(news.get("length")):
            # A length known only after another resource is made may differ, and
            # a new length means a new password: preview shows a possible replace.
            return DiffResult(changes=True, replaces=["length"])
        changed = as_int(olds["length"]) != as_int(news["length"])
        return DiffResult(
            changes=changed, replaces=["length"] if changed else [], stables=["value"]
        )

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> UpdateResult:
        return UpdateResult({**olds, "length": as_int(news["length"])})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing outside the stack state holds the password."""


@dataclass
class GeneratedPasswordArgs:
    length: pulumi.Input[int] = MAX_LENGTH


class GeneratedPassword(pulumi.dynamic.Resource, name="GeneratedPassword"):
    """A generated password; `value` is a secret output."""

    length: pulumi.Output[int]
    value: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: GeneratedPasswordArgs | None = None,
        opts: ResourceOptions | None = None,
    ) -> None:
        props = {**input_props(args or GeneratedPasswordArgs()), "value": None}
        secret = ResourceOptions(additional_secret_outputs=["value"])
        super().__init__(
            GeneratedPasswordProvider(),
            resource_name,
            props,
            ResourceOptions.merge(opts, secret),
        )
