"""Sets how many days CloudHSM keeps the cluster's backups (ModifyCluster).

pulumi-aws cannot change the retention of an existing cluster without replacing
it, so this resource owns the policy. Delete leaves the policy as it is: the
cluster's deletion removes it, and backups outlive the cluster by design.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from botocore.exceptions import ClientError
from pulumi import ResourceOptions
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from providers import aws
from providers._cluster import describe_cluster, require_cluster
from providers._inputs import (
    CLUSTER_ID_PATTERN,
    InputCheck,
    as_int,
    changed_inputs,
    input_props,
)
from providers.errors import ClusterStateError

MIN_DAYS = 7
MAX_DAYS = 379


def set_retention(cluster_id: str, days: int, region: str | None) -> None:
    """Apply the policy; ModifyCluster with the same value again is harmless."""
    require_cluster(cluster_id, region)
    cloudhsm = aws.client("cloudhsmv2", region)
    try:
        cloudhsm.modify_cluster(
            ClusterId=cluster_id,
            BackupRetentionPolicy={"Type": "DAYS", "Value": str(days)},
        )
    except ClientError as error:
        raise _modify_refused(cluster_id, days, error) from error


def _modify_refused(
    cluster_id: str, days: int, error: ClientError
) -> ClusterStateError:
    code = aws.error_code(error) or "unknown error"
    message = aws.error_message(error)
    return ClusterStateError(
        f"ModifyCluster refused a backup retention of {days} days for CloudHSM "
        f"cluster {cluster_id}: {code}: {message}. Check the cluster with `aws "
        f"cloudhsmv2 describe-clusters --filters clusterIds={cluster_id}` and "
        f"backupRetentionDays ({MIN_DAYS} to {MAX_DAYS}), fix what AWS names, then "
        "run `pulumi up` again."
    )


class BackupRetentionProvider(ResourceProvider):
    """ModifyCluster on create and update; refresh reads the live policy."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = InputCheck(news)
        inputs.region()
        inputs.text("cluster_id", CLUSTER_ID_PATTERN, "a CloudHSM cluster id")
        inputs.integer("days", MIN_DAYS, MAX_DAYS)
        return inputs.result()

    def create(self, props: dict[str, Any]) -> CreateResult:
        days = as_int(props["days"])
        set_retention(props["cluster_id"], days, props.get("region"))
        return CreateResult(
            f"{props['cluster_id']}-backup-retention", {**props, "days": days}
        )

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        cluster = describe_cluster(props["cluster_id"], props.get("region"))
        policy = cluster.description.get("BackupRetentionPolicy") or {}
        if not cluster.exists or policy.get("Type") != "DAYS":
            return ReadResult(id_, props)
        live = {**props, "days": int(policy["Value"])}
        return ReadResult(id_, live)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = changed_inputs(olds, news, BackupRetentionArgs)
        replaces = [name for name in changed if name in ("region", "cluster_id")]
        return DiffResult(changes=bool(changed), replaces=replaces)

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> UpdateResult:
        days = as_int(news["days"])
        set_retention(news["cluster_id"], days, news.get("region"))
        return UpdateResult({**olds, **news, "days": days})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        pulumi.log.info(
            f"CloudHSM cluster {props.get('cluster_id')}: backup retention left at "
            f"{props.get('days')} days; backups are kept that long after deletion."
        )


@dataclass
class BackupRetentionArgs:
    cluster_id: pulumi.Input[str]
    days: pulumi.Input[int]
    region: pulumi.Input[str] | None = None


class BackupRetention(pulumi.dynamic.Resource, name="BackupRetention"):
    """The cluster's backup retention policy, in days."""

    cluster_id: pulumi.Output[str]
    days: pulumi.Output[int]

    def __init__(
        self,
        resource_name: str,
        args: BackupRetentionArgs,
        opts: ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            BackupRetentionProvider(),
            resource_name,
            input_props(args),
            ResourceOptions.merge(opts, ResourceOptions(additional_secret_outputs=[])),
        )
