"""Activates the initialized cluster from the admin instance, through SSM.

On the instance: install the trust anchor, point the client at the first HSM,
and run `cluster activate` with the admin password read from Secrets Manager.
A cluster found ACTIVE is adopted only if that password logs in as admin;
otherwise it was activated with another password and the error says so.
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

from providers import _cloudhsm_cli as cli
from providers._cluster import ClusterState, describe_cluster, require_cluster
from providers._inputs import (
    CLUSTER_ID_PATTERN,
    INSTANCE_ID_PATTERN,
    SECRET_ARN_PATTERN,
    InputCheck,
    as_int,
    changed_inputs,
    input_props,
)
from providers.errors import ClusterStateError, HsmCommandFailed, SsmCommandFailed
from providers.ssm_commands import run_script, wait_for_instance_online
from providers.waiting import wait_for

EXPECTED_CLIENT_INSTALL_SECONDS = 240
EXPECTED_ACTIVE_SECONDS = 60
ACTIVATABLE = frozenset({ClusterState.INITIALIZED})
REPLACING_INPUTS = ("region", "cluster_id")


def wait_for_client(props: dict[str, Any]) -> None:
    """Wait until the instance is SSM-online and has the Client SDK 5 CLI.

    The wait polls from here with short probe scripts rather than looping with
    `sleep` inside one script, so that it runs on the provider's clock.
    """
    instance_id, region = props["instance_id"], props.get("region")
    timeout = as_int(props["timeout_seconds"])
    wait_for_instance_online(instance_id, region=region, timeout_seconds=timeout)
    wait_for(
        lambda: _probe_client(instance_id, region, timeout),
        is_done=lambda state: state == "present",
        resource=f"Client SDK 5 install on {instance_id}",
        expected_seconds=EXPECTED_CLIENT_INSTALL_SECONDS,
        timeout_seconds=timeout,
        next_step=(
            f"Check the user data log on {instance_id} "
            "(/var/log/cloud-init-output.log) for the cloudhsm-cli install, then "
            "run `pulumi up` again."
        ),
    )


def activate(props: dict[str, Any]) -> str:
    """Activate (or adopt) the cluster and wait until it is ACTIVE."""
    cluster = require_cluster(props["cluster_id"], props.get("region"))
    if cluster.state not in ACTIVATABLE and cluster.state != ClusterState.ACTIVE:
        raise ClusterStateError(
            f"CloudHSM cluster {cluster.cluster_id} is {cluster.state}; activation "
            "needs it INITIALIZED (or ACTIVE to adopt). Wait for initialization, "
            "then run `pulumi up` again."
        )
    wait_for_client(props)

    already_active = cluster.state == ClusterState.ACTIVE
    _run_activation(props, already_active)
    return _wait_active(props)


class ClusterActivationProvider(ResourceProvider):
    """`cluster activate` through SSM; state is the cluster's state."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = InputCheck(news)
        inputs.region()
        inputs.text("cluster_id", CLUSTER_ID_PATTERN, "a CloudHSM cluster id")
        inputs.text("instance_id", INSTANCE_ID_PATTERN, "an EC2 instance id")
        inputs.text("hsm_ip", cli.IP_PATTERN, "the IPv4 address of an HSM")
        inputs.non_empty("trust_anchor_pem", "the trust anchor certificate in PEM")
        inputs.text(
            "admin_password_secret_arn",
            SECRET_ARN_PATTERN,
            "the ARN of a Secrets Manager secret",
        )
        inputs.integer("timeout_seconds", 60, 86400, default=1800)
        return inputs.result()

    def create(self, props: dict[str, Any]) -> CreateResult:
        state = activate(props)
        outs = {**props, "cluster_state": state}
        return CreateResult(f"{props['cluster_id']}-activation", outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        cluster = describe_cluster(props["cluster_id"], props.get("region"))
        return ReadResult(id_, {**props, "cluster_state": cluster.state})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = changed_inputs(olds, news, ClusterActivationArgs)
        replaces = [name for name in changed if name in REPLACING_INPUTS]
        return DiffResult(changes=bool(changed), replaces=replaces)

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> UpdateResult:
        # A new instance, HSM IP or secret changes nothing on an active cluster.
        return UpdateResult({**olds, **news})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Activation cannot be undone; deleting the cluster removes it."""


def _probe_client(instance_id: str, region: str | None, timeout: int) -> str:
    result = run_script(
        instance_id,
        cli.client_present_probe(),
        region=region,
        comment="fips-keystore: is cloudhsm-cli installed",
        timeout_seconds=timeout,
    )
    return "present" if "present" in result.stdout.split() else "absent"


def activation_script(props: dict[str, Any], already_active: bool) -> str:
    """Trust anchor, client configuration, then activate or check the password."""
    if already_active:
        command = cli.as_admin("ADMIN_PW") + cli.run_cli(
            "user list", cli.EXIT_LOGIN_FAILED
        )
    else:
        command = cli.run_cli(
            "cluster activate", cli.EXIT_COMMAND_FAILED, stdin_variable="ADMIN_PW"
        )
    return cli.script(
        cli.install_trust_anchor(props["trust_anchor_pem"]),
        cli.configure_client([props["hsm_ip"]]),
        cli.fetch_secret("ADMIN_PW", props["admin_password_secret_arn"]),
        command,
    )


def _run_activation(props: dict[str, Any], already_active: bool) -> None:
    cluster_id = props["cluster_id"]
    try:
        run_script(
            props["instance_id"],
            activation_script(props, already_active),
            region=props.get("region"),
            comment=f"fips-keystore: activate {cluster_id}",
            timeout_seconds=as_int(props["timeout_seconds"]),
        )
    except SsmCommandFailed as error:
        if error.exit_code == cli.EXIT_LOGIN_FAILED:
            raise HsmCommandFailed(
                f"CloudHSM cluster {cluster_id} is already ACTIVE, but the admin "
                "password in secret "
                f"{props['admin_password_secret_arn']} does not log in as admin: "
                "the cluster was activated with another password. Put that password "
                "in the secret (`aws secretsmanager put-secret-value`), then run "
                "`pulumi up` again. Five failed logins lock the admin out."
            ) from error
        raise


def _wait_active(props: dict[str, Any]) -> str:
    cluster_id = props["cluster_id"]
    cluster = wait_for(
        lambda: describe_cluster(cluster_id, props.get("region")),
        is_done=lambda current: current.state == ClusterState.ACTIVE,
        resource=f"CloudHSM cluster {cluster_id} activation",
        expected_seconds=EXPECTED_ACTIVE_SECONDS,
        timeout_seconds=as_int(props["timeout_seconds"]),
    )
    pulumi.log.info(f"CloudHSM cluster {cluster_id} is ACTIVE.")
    return cluster.state


@dataclass
class ClusterActivationArgs:
    cluster_id: pulumi.Input[str]
    instance_id: pulumi.Input[str]
    hsm_ip: pulumi.Input[str]
    trust_anchor_pem: pulumi.Input[str]
    admin_password_secret_arn: pulumi.Input[str]
    region: pulumi.Input[str] | None = None
    timeout_seconds: pulumi.Input[int] = 1800


class ClusterActivation(pulumi.dynamic.Resource, name="ClusterActivation"):
    """The cluster, activated with the admin password from Secrets Manager."""

    cluster_id: pulumi.Output[str]
    cluster_state: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: ClusterActivationArgs,
        opts: ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            ClusterActivationProvider(),
            resource_name,
            {**input_props(args), "cluster_state": None},
            ResourceOptions.merge(opts, ResourceOptions(additional_secret_outputs=[])),
        )
