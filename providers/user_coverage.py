"""Checks, after every HSM is in, that each named user is on all of them.

New HSMs are cloned from a backup, so a user made while an HSM was being added
may be missing on it. `user list` shows that as cluster-coverage other than
`full`; KMS would then fail to connect with USER_NOT_FOUND, half an hour later.
"""

from __future__ import annotations

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

from providers._inputs import (
    USERNAME_PATTERN,
    InputCheck,
    changed_inputs,
    input_props,
    is_unknown,
)
from providers.crypto_user import (
    active_hsm_ips,
    check_cluster_client_inputs,
    cluster_and_instance_reachable,
    list_users,
)
from providers.errors import HsmCommandFailed

FULL = "full"
UNKNOWN = "unknown: the HSMs changed since the last check"


def check_coverage(props: dict[str, Any]) -> dict[str, str]:
    """The coverage of each named user; raises unless every one is full."""
    users = list_users(props, props["hsm_ips"], "check user coverage")
    coverage = {user.username: user.cluster_coverage for user in users}
    for username in props["usernames"]:
        seen = coverage.get(username, "missing")
        if seen != FULL:
            raise HsmCommandFailed(_not_covered(props, username, seen))
    return {username: FULL for username in props["usernames"]}


class CryptoUserCoverageProvider(ResourceProvider):
    """A check with no AWS object of its own: create and update run it."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = InputCheck(news)
        check_cluster_client_inputs(inputs)
        _check_usernames(inputs)
        return inputs.result()

    def create(self, props: dict[str, Any]) -> CreateResult:
        coverage = check_coverage(props)
        outs = {**props, "coverage": coverage}
        return CreateResult(f"{props['cluster_id']}-user-coverage", outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        if not cluster_and_instance_reachable(props):
            return ReadResult(id_, props)
        if set(active_hsm_ips(props)) != set(props["hsm_ips"]):
            # The HSM set changed (one deleted or added out of band): the stored
            # coverage proves nothing now, and the next up checks it again.
            unknown = dict.fromkeys(props["usernames"], UNKNOWN)
            return ReadResult(id_, {**props, "coverage": unknown})
        users = list_users(props, props["hsm_ips"], "refresh user coverage")
        seen = {user.username: user.cluster_coverage for user in users}
        coverage = {name: seen.get(name, "missing") for name in props["usernames"]}
        return ReadResult(id_, {**props, "coverage": coverage})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = changed_inputs(olds, news, CryptoUserCoverageArgs)
        coverage = olds.get("coverage") or {}
        drifted = any(value != FULL for value in coverage.values())
        return DiffResult(changes=bool(changed) or drifted, replaces=[])

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> UpdateResult:
        return UpdateResult({**olds, **news, "coverage": check_coverage(news)})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """A check leaves nothing behind."""


def _check_usernames(inputs: InputCheck) -> None:
    names = inputs.inputs.get("usernames")
    if names is None or not isinstance(names, list) and not is_unknown(names):
        inputs.fail("usernames", f"usernames must be a list of users, got {names!r}.")
        return
    if is_unknown(names):
        return
    bad = [name for name in names if not USERNAME_PATTERN.fullmatch(str(name))]
    if bad or not names:
        inputs.fail(
            "usernames",
            f"usernames must be 1 or more names of 1 to 31 characters from "
            f"[a-zA-Z0-9_], got {names!r}.",
        )


def _not_covered(props: dict[str, Any], username: str, seen: str) -> str:
    return (
        f"User {username} on CloudHSM cluster {props['cluster_id']} has "
        f"cluster-coverage {seen!r}, not 'full': it is missing on at least one of "
        f"the HSMs {', '.join(props['hsm_ips'])}. KMS would fail to connect with "
        "USER_NOT_FOUND. Delete the HSMs that lack the user and add them again "
        "(new HSMs clone from a backup that holds the user), or recreate the user "
        "with all HSMs configured, then run `pulumi up` again."
    )


@dataclass
class CryptoUserCoverageArgs:
    cluster_id: pulumi.Input[str]
    instance_id: pulumi.Input[str]
    hsm_ips: pulumi.Input[list[pulumi.Input[str]]]
    usernames: pulumi.Input[list[pulumi.Input[str]]]
    admin_password_secret_arn: pulumi.Input[str]
    region: pulumi.Input[str] | None = None
    timeout_seconds: pulumi.Input[int] = 1800


class CryptoUserCoverage(pulumi.dynamic.Resource, name="CryptoUserCoverage"):
    """Proof that every named user is on every HSM."""

    cluster_id: pulumi.Output[str]
    coverage: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        resource_name: str,
        args: CryptoUserCoverageArgs,
        opts: ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            CryptoUserCoverageProvider(),
            resource_name,
            {**input_props(args), "coverage": None},
            ResourceOptions.merge(opts, ResourceOptions(additional_secret_outputs=[])),
        )
