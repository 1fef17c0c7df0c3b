"""Creates the `kmsuser` crypto user on the cluster, through SSM as admin.

Run after activation and before the second HSM: HSMs added later are cloned
from a backup, so they carry every user made before them. The password is read
on the instance from Secrets Manager; the provider never sees it, so the
password rule is applied where the program reads passwords from its config
(`stack_config`). A user found with partial cluster coverage is deleted and
created again on every ACTIVE HSM, but only while no key store uses the
cluster (then it may own keys, and the error says how to repair the HSMs
instead).
Known gap: the user is deleted only when both the cluster and the admin
instance are still there; otherwise delete logs and succeeds, and the user goes
with the cluster.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
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
from providers import aws
from providers._cluster import ClusterState, describe_cluster, require_cluster
from providers._inputs import (
    CLUSTER_ID_PATTERN,
    INSTANCE_ID_PATTERN,
    SECRET_ARN_PATTERN,
    USERNAME_PATTERN,
    InputCheck,
    changed_inputs,
    input_props,
    is_unknown,
)
from providers.cluster_activation import wait_for_client
from providers.errors import ClusterStateError, HsmCommandFailed

CRYPTO_USER_ROLE = "crypto-user"
REPLACING_INPUTS = ("region", "cluster_id", "username")


def list_users(
    props: dict[str, Any], hsm_ips: Sequence[str], purpose: str
) -> list[cli.HsmUser]:
    """`user list` as admin, with the client configured for `hsm_ips`."""
    result = cli.run_as_admin(
        props, hsm_ips, cli.run_cli("user list", cli.EXIT_LOGIN_FAILED), purpose
    )
    return cli.users_from(result)


class CryptoUserProvider(ResourceProvider):
    """Create the crypto user unless present; delete it while the cluster lives."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = InputCheck(news)
        check_crypto_user_inputs(inputs)
        return inputs.result()

    def create(self, props: dict[str, Any]) -> CreateResult:
        _require_active(props)
        wait_for_client(props)
        user = _find(list_users(props, props["hsm_ips"], "list users"), props)
        if user is None:
            user = _create_user(props)
        else:
            pulumi.log.info(
                f"CloudHSM cluster {props['cluster_id']}: {user.username} exists "
                "already (an earlier run made it): adopting it."
            )
        if user.cluster_coverage != "full":
            user = _recreate_unused_user(user, props)
        _require_full_coverage(user, props)

        outs = {**props, "hsm_count_at_creation": len(props["hsm_ips"])}
        return CreateResult(f"{props['cluster_id']}-{props['username']}", outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        if not cluster_and_instance_reachable(props):
            return ReadResult(id_, props)
        # The HSMs in the inputs may have been replaced since: ask those there now.
        hsm_ips = active_hsm_ips(props) or props["hsm_ips"]
        users = list_users(props, hsm_ips, "refresh users")
        if _find(users, props) is None:
            return ReadResult(None, {})
        return ReadResult(id_, props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = changed_inputs(olds, news, CryptoUserArgs)
        replaces = [name for name in changed if name in REPLACING_INPUTS]
        return DiffResult(
            changes=bool(changed),
            replaces=replaces,
            delete_before_replace=bool(replaces),
            stables=["hsm_count_at_creation"],
        )

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> UpdateResult:
        # The password rotates under KMS after connection: a new secret ARN is
        # recorded, never pushed to the HSM.
        kept = {"hsm_count_at_creation": olds.get("hsm_count_at_creation")}
        return UpdateResult({**olds, **news, **kept})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if not cluster_and_instance_reachable(props):
            pulumi.log.info(
                f"{props.get('username')} on CloudHSM cluster "
                f"{props.get('cluster_id')}: cluster or admin instance gone, "
                "nothing to delete (the user goes with the cluster)."
            )
            return
        # Destroy deletes every HSM at once (none depends on this user), so the
        # HSMs may be going already: the user goes with them.
        hsm_ips = active_hsm_ips(props)
        if not hsm_ips:
            pulumi.log.info(
                f"{props.get('username')} on CloudHSM cluster "
                f"{props.get('cluster_id')}: no ACTIVE HSM left, nothing to delete "
                "(the user goes with the HSMs)."
            )
            return
        _delete_user({**props, "hsm_ips": hsm_ips})


def check_cluster_client_inputs(inputs: InputCheck) -> None:
    inputs.region()
    inputs.text("cluster_id", CLUSTER_ID_PATTERN, "a CloudHSM cluster id")
    inputs.text("instance_id", INSTANCE_ID_PATTERN, "an EC2 instance id")
    inputs.text(
        "admin_password_secret_arn",
        SECRET_ARN_PATTERN,
        "the ARN of a Secrets Manager secret",
    )
    inputs.integer("timeout_seconds", 60, 86400, default=1800)
    _check_ips(inputs)


def check_crypto_user_inputs(inputs: InputCheck) -> None:
    """The cluster and client inputs, then the user's name and password secret."""
    check_cluster_client_inputs(inputs)
    if inputs.inputs.get("username") is None:
        inputs.inputs["username"] = "kmsuser"
    inputs.text("username", USERNAME_PATTERN, "1 to 31 characters from [a-zA-Z0-9_]")
    inputs.text(
        "password_secret_arn",
        SECRET_ARN_PATTERN,
        "the ARN of a Secrets Manager secret",
    )


def _check_ips(inputs: InputCheck) -> None:
    ips = inputs.inputs.get("hsm_ips")
    if ips is None:
        inputs.fail("hsm_ips", "hsm_ips is required: the IPs of the HSMs.")
        return
    if isinstance(ips, str) and is_unknown(ips):
        return
    if not isinstance(ips, list) or not ips:
        inputs.fail("hsm_ips", f"hsm_ips must be a non-empty list of IPs, got {ips!r}.")
        return
    bad = [
        ip for ip in ips if not is_unknown(ip) and not cli.IP_PATTERN.fullmatch(str(ip))
    ]
    if bad:
        inputs.fail("hsm_ips", f"hsm_ips must hold IPv4 addresses, got {bad!r}.")


def _require_active(props: dict[str, Any]) -> None:
    cluster = require_cluster(props["cluster_id"], props.get("region"))
    if cluster.state != ClusterState.ACTIVE:
        raise ClusterStateError(
            f"CloudHSM cluster {cluster.cluster_id} is {cluster.state}; users can "
            "be created only on an ACTIVE (activated) cluster. Activate it first, "
            "then run `pulumi up` again."
        )


def _find(users: list[cli.HsmUser], props: dict[str, Any]) -> cli.HsmUser | None:
    username = props["username"].lower()
    found = [user for user in users if user.username.lower() == username]
    if found and found[0].role != CRYPTO_USER_ROLE:
        raise HsmCommandFailed(
            f"User {props['username']} exists on cluster {props['cluster_id']} with "
            f"role {found[0].role}, not {CRYPTO_USER_ROLE}. KMS needs a crypto user: "
            "delete that user or choose another username."
        )
    return found[0] if found else None


def _create_user(props: dict[str, Any]) -> cli.HsmUser:
    username = props["username"]
    commands = (
        cli.fetch_secret("USER_PW", props["password_secret_arn"])
        + cli.run_cli(
            f"user create --username {shlex.quote(username)} --role {CRYPTO_USER_ROLE}",
            cli.EXIT_COMMAND_FAILED,
            stdin_variable="USER_PW",
        )
        + cli.run_cli("user list", cli.EXIT_COMMAND_FAILED)
    )
    result = cli.run_as_admin(props, props["hsm_ips"], commands, f"create {username}")
    user = _find(cli.users_from(result), props)
    if user is None:
        raise HsmCommandFailed(
            f"`user create` for {username} on cluster {props['cluster_id']} "
            "succeeded but `user list` does not show the user. Run `user list` on "
            "the admin instance, then `pulumi up` again."
        )
    pulumi.log.info(f"CloudHSM cluster {props['cluster_id']}: created {username}.")
    return user


def _recreate_unused_user(user: cli.HsmUser, props: dict[str, Any]) -> cli.HsmUser:
    """Delete and create again a user missing on some HSM, if it cannot own keys.

    Only while no KMS key store uses the cluster: kmsuser owns the keys of a key
    store, and deleting it would destroy them.
    """
    stores = _key_stores_on(props)
    if stores:
        raise HsmCommandFailed(
            f"User {user.username} on cluster {props['cluster_id']} has "
            f"cluster-coverage {user.cluster_coverage!r} and key store(s) "
            f"{', '.join(stores)} use the cluster, so it may own keys and is not "
            "recreated. Remove the HSMs that lack the user and add them again "
            "(they clone from a backup that holds it), then run `pulumi up` again."
        )
    pulumi.log.warn(
        f"CloudHSM cluster {props['cluster_id']}: {user.username} has "
        f"cluster-coverage {user.cluster_coverage!r} and no key store uses the "
        "cluster: deleting and creating it again on every ACTIVE HSM."
    )
    everywhere = {**props, "hsm_ips": active_hsm_ips(props) or props["hsm_ips"]}
    _delete_user(everywhere)
    return _create_user(everywhere)


def _key_stores_on(props: dict[str, Any]) -> list[str]:
    kms = aws.client("kms", props.get("region"))
    stores = []
    for page in kms.get_paginator("describe_custom_key_stores").paginate():
        stores += [
            str(store["CustomKeyStoreId"])
            for store in page.get("CustomKeyStores", [])
            if store.get("CloudHsmClusterId") == props["cluster_id"]
        ]
    return stores


def active_hsm_ips(props: dict[str, Any]) -> list[str]:
    """The IPs of the cluster's ACTIVE HSMs now (empty if the cluster is gone)."""
    cluster = describe_cluster(props["cluster_id"], props.get("region"))
    return [
        str(hsm["EniIp"])
        for hsm in cluster.hsms
        if hsm.get("State") == "ACTIVE" and hsm.get("EniIp")
    ]


def _delete_user(props: dict[str, Any]) -> None:
    username = props["username"]
    users = list_users(props, props["hsm_ips"], f"find {username}")
    if _find(users, props) is None:
        return
    command = cli.run_cli(
        f"user delete --username {shlex.quote(username)} --role {CRYPTO_USER_ROLE}",
        cli.EXIT_COMMAND_FAILED,
    )
    cli.run_as_admin(props, props["hsm_ips"], command, f"delete {username}")


def _require_full_coverage(user: cli.HsmUser, props: dict[str, Any]) -> None:
    if user.cluster_coverage != "full":
        raise HsmCommandFailed(
            f"User {user.username} on cluster {props['cluster_id']} has "
            f"cluster-coverage {user.cluster_coverage!r}, not 'full': it is missing "
            "on some HSM. Make sure hsm_ips lists every HSM, remove the HSMs that "
            "lack the user and add them again (they clone from a fresh backup), "
            "then run `pulumi up` again."
        )


def cluster_and_instance_reachable(props: dict[str, Any]) -> bool:
    """The cluster exists and the admin instance answers SSM right now."""
    cluster = describe_cluster(props["cluster_id"], props.get("region"))
    if not cluster.exists:
        return False
    ssm = aws.client("ssm", props.get("region"))
    reply = ssm.describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": [props["instance_id"]]}]
    )
    found = reply.get("InstanceInformationList", [])
    return bool(found) and found[0].get("PingStatus") == "Online"


@dataclass
class CryptoUserArgs:
    cluster_id: pulumi.Input[str]
    instance_id: pulumi.Input[str]
    hsm_ips: pulumi.Input[Sequence[pulumi.Input[str]]]
    password_secret_arn: pulumi.Input[str]
    admin_password_secret_arn: pulumi.Input[str]
    username: pulumi.Input[str] = "kmsuser"
    region: pulumi.Input[str] | None = None
    timeout_seconds: pulumi.Input[int] = 1800


class CryptoUser(pulumi.dynamic.Resource, name="CryptoUser"):
    """A crypto user (`kmsuser`) on the cluster."""

    cluster_id: pulumi.Output[str]
    username: pulumi.Output[str]
    hsm_count_at_creation: pulumi.Output[int]

    def __init__(
        self,
        resource_name: str,
        args: CryptoUserArgs,
        opts: ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            CryptoUserProvider(),
            resource_name,
            {**input_props(args), "hsm_count_at_creation": None},
            ResourceOptions.merge(opts, ResourceOptions(additional_secret_outputs=[])),
        )
