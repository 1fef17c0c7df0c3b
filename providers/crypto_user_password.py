"""Sets an existing crypto user's password to the stack's, through SSM as admin.

A cluster restored from a backup (or adopted) may hold a `kmsuser` whose
password KMS rotated when an earlier key store connected: nobody knows it, and
a new key store would fail to connect with INVALID_CREDENTIALS. This resource
sets it to the password in the stack's secret once, before the key store
connects. Later runs never push it again: after connecting, KMS owns the
password. Delete does nothing (the user stays; the cluster's owner removes it).
"""

from __future__ import annotations

import shlex
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

from providers import _cloudhsm_cli as cli
from providers._inputs import (
    InputCheck,
    changed_inputs,
    input_props,
)
from providers.cluster_activation import wait_for_client
from providers.crypto_user import (
    CRYPTO_USER_ROLE,
    CryptoUserArgs,
    check_crypto_user_inputs,
    list_users,
)
from providers.errors import HsmCommandFailed

REPLACING_INPUTS = ("region", "cluster_id", "username")


class CryptoUserPasswordProvider(ResourceProvider):
    """Set the crypto user's password once; never again after KMS rotated it."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = InputCheck(news)
        check_crypto_user_inputs(inputs)
        return inputs.result()

    def create(self, props: dict[str, Any]) -> CreateResult:
        wait_for_client(props)
        _require_crypto_user(props)
        _change_password(props)
        pulumi.log.info(
            f"CloudHSM cluster {props['cluster_id']}: {props['username']} now has "
            "the password of the stack's secret."
        )
        return CreateResult(f"{props['cluster_id']}-{props['username']}", props)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # The password cannot be read back, and KMS rotates it after connecting.
        return ReadResult(id_, props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = changed_inputs(olds, news, CryptoUserPasswordArgs)
        replaces = [name for name in changed if name in REPLACING_INPUTS]
        return DiffResult(
            changes=bool(changed),
            replaces=replaces,
            delete_before_replace=bool(replaces),
        )

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> UpdateResult:
        # A new secret or HSM list is recorded, never pushed: pushing would cut
        # off a connected key store, whose password KMS now owns.
        return UpdateResult({**olds, **news})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        pulumi.log.info(
            f"{props.get('username')} on CloudHSM cluster {props.get('cluster_id')} "
            "keeps its password (nothing to delete)."
        )


def _require_crypto_user(props: dict[str, Any]) -> None:
    users = list_users(props, props["hsm_ips"], f"find {props['username']}")
    username = props["username"].lower()
    if any(u.username.lower() == username for u in users):
        return
    raise HsmCommandFailed(
        f"User {props['username']} does not exist on cluster {props['cluster_id']}, "
        "so its password cannot be set. Create it first (the CryptoUser resource "
        "does), then run `pulumi up` again."
    )


def _change_password(props: dict[str, Any]) -> None:
    username = props["username"]
    commands = cli.fetch_secret("USER_PW", props["password_secret_arn"]) + cli.run_cli(
        f"user change-password --username {shlex.quote(username)} "
        f"--role {CRYPTO_USER_ROLE}",
        cli.EXIT_COMMAND_FAILED,
        stdin_variable="USER_PW",
    )
    cli.run_as_admin(
        props,
        props["hsm_ips"],
        commands,
        f"set the password of {username}",
        next_step="Check adminPassword (the cluster's admin password), then run "
        "`pulumi up` again. ",
    )


@dataclass
class CryptoUserPasswordArgs(CryptoUserArgs):
    """The same inputs as the user itself: where it is and the secret to set."""


class CryptoUserPassword(pulumi.dynamic.Resource, name="CryptoUserPassword"):
    """The stack's password set on an existing crypto user (restore, adopt)."""

    cluster_id: pulumi.Output[str]
    username: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: CryptoUserPasswordArgs,
        opts: ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            CryptoUserPasswordProvider(),
            resource_name,
            input_props(args),
            opts,
        )
