"""CloudHSM cluster and HSM, KMS key store record, key and alias for the adapter."""

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from rehearsal.engine.aws_adapter import (
    CREATE_TIMEOUT_ADVICE,
    AwsContext,
    Deletion,
    Outputs,
    ResourceKind,
)

_HSM_WAIT_SECONDS = 7200.0
# terraform-provider-aws, which pulumi-aws wraps, polls CloudHSM cluster and HSM
# states every 30 seconds (its waiters' Delay and MinTimeout); so does this stand-in.
PULUMI_AWS_POLL_SECONDS = 30.0
_CLOUDHSM_NOT_FOUND = "CloudHsmResourceNotFoundException"


# CloudHSM cluster


def _already_gone(
    ctx: AwsContext, resource: str, send_delete: Callable[[], object]
) -> bool:
    """Send a CloudHSM delete; True when AWS answers that the resource is gone.

    pulumi-aws counts a CloudHsmResourceNotFoundException from DeleteHsm or
    DeleteCluster as deleted, and so does the rehearsal.
    """
    try:
        send_delete()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != _CLOUDHSM_NOT_FOUND:
            raise
        ctx.log.info(f"{resource}: already gone, counted as deleted")
        return True
    return False


def _describe_cluster(ctx: AwsContext, cluster_id: str) -> dict[str, Any] | None:
    clusters = ctx.client("cloudhsmv2").describe_clusters(
        Filters={"clusterIds": [cluster_id]}
    )["Clusters"]
    return clusters[0] if clusters else None


def _cluster_state(ctx: AwsContext, cluster_id: str) -> str:
    cluster = _describe_cluster(ctx, cluster_id)
    return "DELETED" if cluster is None else str(cluster["State"])


def _create_cluster(ctx: AwsContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    params: dict[str, Any] = {
        "HsmType": inputs["hsmType"],
        "SubnetIds": list(inputs["subnetIds"]),
    }
    if inputs.get("sourceBackupIdentifier"):
        params["SourceBackupId"] = inputs["sourceBackupIdentifier"]
    if inputs.get("mode"):
        params["Mode"] = inputs["mode"]
    if inputs.get("tags"):
        params["TagList"] = [
            {"Key": k, "Value": str(v)} for k, v in inputs["tags"].items()
        ]
    cluster_id = ctx.client("cloudhsmv2").create_cluster(**params)["Cluster"][
        "ClusterId"
    ]

    ctx.wait_created(
        cluster_id,
        {"clusterId": cluster_id},
        lambda: _cluster_state(ctx, cluster_id),
        done=("UNINITIALIZED", "ACTIVE"),
        failed=("DEGRADED", "DELETED"),
        resource=f"CloudHSM cluster {cluster_id} ({name})",
        poll_every=PULUMI_AWS_POLL_SECONDS,
        timeout_seconds=ctx.create_timeout(_HSM_WAIT_SECONDS),
        next_step=CREATE_TIMEOUT_ADVICE,
    )
    return cluster_id, _read_cluster(ctx, cluster_id, inputs) or {}


def _read_cluster(ctx: AwsContext, id_: str, _outputs: Outputs) -> Outputs | None:
    cluster = _describe_cluster(ctx, id_)
    if cluster is None or cluster["State"] == "DELETED":
        return None
    return cluster_outputs(cluster)


def cluster_outputs(cluster: dict[str, Any]) -> Outputs:
    """A DescribeClusters entry as pulumi-aws names a cluster's attributes."""
    certificates = cluster.get("Certificates") or {}
    return {
        "clusterId": cluster["ClusterId"],
        "clusterState": cluster["State"],
        "securityGroupId": cluster.get("SecurityGroup"),
        "vpcId": cluster.get("VpcId"),
        "hsmType": cluster.get("HsmType"),
        "subnetIds": sorted((cluster.get("SubnetMapping") or {}).values()),
        "clusterCertificates": [
            {
                "clusterCsr": certificates.get("ClusterCsr"),
                "clusterCertificate": certificates.get("ClusterCertificate"),
                "hsmCertificate": certificates.get("HsmCertificate"),
                "awsHardwareCertificate": certificates.get("AwsHardwareCertificate"),
                "manufacturerHardwareCertificate": certificates.get(
                    "ManufacturerHardwareCertificate"
                ),
            }
        ],
    }


def _delete_cluster(ctx: AwsContext, id_: str, _outputs: Outputs) -> Deletion:
    resource = f"CloudHSM cluster {id_}"
    cloudhsm = ctx.client("cloudhsmv2")
    if _already_gone(ctx, resource, lambda: cloudhsm.delete_cluster(ClusterId=id_)):
        return Deletion()

    ctx.wait(
        lambda: _cluster_state(ctx, id_),
        done=("DELETED",),
        resource=resource,
        poll_every=PULUMI_AWS_POLL_SECONDS,
        timeout_seconds=_HSM_WAIT_SECONDS,
    )
    return Deletion()


# HSM


def _find_hsm(ctx: AwsContext, cluster_id: str, hsm_id: str) -> dict[str, Any] | None:
    cluster = _describe_cluster(ctx, cluster_id)
    hsms = cluster.get("Hsms", []) if cluster else []
    return next((hsm for hsm in hsms if hsm["HsmId"] == hsm_id), None)


def _hsm_state(ctx: AwsContext, cluster_id: str, hsm_id: str) -> str:
    hsm = _find_hsm(ctx, cluster_id, hsm_id)
    return "DELETED" if hsm is None else str(hsm["State"])


def _hsm_zone(ctx: AwsContext, inputs: Outputs) -> str:
    if inputs.get("availabilityZone"):
        return str(inputs["availabilityZone"])
    # Like pulumi-aws: a subnet id names the zone through the cluster's subnets.
    cluster = _describe_cluster(ctx, inputs["clusterId"]) or {}
    mapping = cluster.get("SubnetMapping") or {}
    return next(
        zone for zone, subnet in mapping.items() if subnet == inputs["subnetId"]
    )


def _create_hsm(ctx: AwsContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    params = {
        "ClusterId": inputs["clusterId"],
        "AvailabilityZone": _hsm_zone(ctx, inputs),
    }
    if inputs.get("ipAddress"):
        params["IpAddress"] = inputs["ipAddress"]
    hsm_id = ctx.client("cloudhsmv2").create_hsm(**params)["Hsm"]["HsmId"]

    ctx.wait_created(
        hsm_id,
        {"hsmId": hsm_id, "clusterId": inputs["clusterId"]},
        lambda: _hsm_state(ctx, inputs["clusterId"], hsm_id),
        done=("ACTIVE",),
        failed=("DEGRADED", "DELETED"),
        resource=f"HSM {hsm_id} ({name})",
        poll_every=PULUMI_AWS_POLL_SECONDS,
        timeout_seconds=ctx.create_timeout(_HSM_WAIT_SECONDS),
        next_step=CREATE_TIMEOUT_ADVICE,
    )
    return hsm_id, _read_hsm(ctx, hsm_id, inputs) or {}


def _read_hsm(ctx: AwsContext, id_: str, outputs: Outputs) -> Outputs | None:
    hsm = _find_hsm(ctx, outputs["clusterId"], id_)
    if hsm is None:
        return None
    return {
        "hsmId": id_,
        "hsmState": hsm["State"],
        "hsmEniId": hsm.get("EniId"),
        "ipAddress": hsm.get("EniIp"),
        "availabilityZone": hsm.get("AvailabilityZone"),
        "subnetId": hsm.get("SubnetId"),
        "clusterId": hsm.get("ClusterId", outputs["clusterId"]),
    }


def _delete_hsm(ctx: AwsContext, id_: str, outputs: Outputs) -> Deletion:
    cluster_id = outputs["clusterId"]
    resource = f"HSM {id_}"
    cloudhsm = ctx.client("cloudhsmv2")
    if _already_gone(
        ctx, resource, lambda: cloudhsm.delete_hsm(ClusterId=cluster_id, HsmId=id_)
    ):
        return Deletion()

    ctx.wait(
        lambda: _hsm_state(ctx, cluster_id, id_),
        done=("DELETED",),
        resource=resource,
        poll_every=PULUMI_AWS_POLL_SECONDS,
        timeout_seconds=_HSM_WAIT_SECONDS,
    )
    return Deletion()


# KMS custom key store record


def _describe_store(ctx: AwsContext, store_id: str) -> dict[str, Any] | None:
    try:
        stores = ctx.client("kms").describe_custom_key_stores(CustomKeyStoreId=store_id)
    except ClientError as error:
        if error.response["Error"]["Code"] == "CustomKeyStoreNotFoundException":
            return None
        raise
    found = stores.get("CustomKeyStores") or []
    return found[0] if found else None


def _create_store(ctx: AwsContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    store_id = ctx.client("kms").create_custom_key_store(
        CustomKeyStoreName=inputs["customKeyStoreName"],
        CloudHsmClusterId=inputs["cloudHsmClusterId"],
        TrustAnchorCertificate=inputs["trustAnchorCertificate"],
        KeyStorePassword=inputs["keyStorePassword"],
    )["CustomKeyStoreId"]
    return store_id, {"customKeyStoreId": store_id}


def _read_store(ctx: AwsContext, id_: str, _outputs: Outputs) -> Outputs | None:
    store = _describe_store(ctx, id_)
    if store is None:
        return None
    return {
        "customKeyStoreName": store["CustomKeyStoreName"],
        "connectionState": store.get("ConnectionState"),
    }


def _delete_store(ctx: AwsContext, id_: str, _outputs: Outputs) -> Deletion:
    ctx.client("kms").delete_custom_key_store(CustomKeyStoreId=id_)
    return Deletion()


# KMS key and alias


def _create_key(ctx: AwsContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    kms = ctx.client("kms")
    metadata = kms.create_key(**_key_params(inputs))["KeyMetadata"]
    key_id = metadata["KeyId"]

    if inputs.get("enableKeyRotation"):
        kms.enable_key_rotation(KeyId=key_id)
    if inputs.get("isEnabled") is False:
        kms.disable_key(KeyId=key_id)
    return key_id, {"arn": metadata["Arn"], "keyId": key_id}


def _key_params(inputs: Outputs) -> dict[str, Any]:
    params: dict[str, Any] = {
        "KeyUsage": inputs.get("keyUsage") or "ENCRYPT_DECRYPT",
        "KeySpec": inputs.get("customerMasterKeySpec")
        or inputs.get("keySpec")
        or "SYMMETRIC_DEFAULT",
    }
    if inputs.get("customKeyStoreId"):
        params["CustomKeyStoreId"] = inputs["customKeyStoreId"]
        params["Origin"] = "AWS_CLOUDHSM"
    for key, pascal in (("description", "Description"), ("policy", "Policy")):
        if inputs.get(key):
            params[pascal] = inputs[key]
    if inputs.get("bypassPolicyLockoutSafetyCheck"):
        params["BypassPolicyLockoutSafetyCheck"] = True
    if inputs.get("multiRegion"):
        params["MultiRegion"] = True
    if inputs.get("tags"):
        params["Tags"] = [
            {"TagKey": k, "TagValue": str(v)} for k, v in inputs["tags"].items()
        ]
    return params


def _read_key(ctx: AwsContext, id_: str, _outputs: Outputs) -> Outputs | None:
    try:
        metadata = ctx.client("kms").describe_key(KeyId=id_)["KeyMetadata"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "NotFoundException":
            return None
        raise
    if metadata["KeyState"] in ("PendingDeletion", "PendingReplicaDeletion"):
        return None
    return {"arn": metadata["Arn"], "keyId": id_, "isEnabled": metadata["Enabled"]}


def _delete_key(ctx: AwsContext, id_: str, outputs: Outputs) -> Deletion:
    days = int(outputs.get("deletionWindowInDays") or 30)
    reply = ctx.client("kms").schedule_key_deletion(KeyId=id_, PendingWindowInDays=days)
    return Deletion("pending deletion", reply["DeletionDate"].isoformat())


def _create_alias(ctx: AwsContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    kms = ctx.client("kms")
    kms.create_alias(AliasName=inputs["name"], TargetKeyId=inputs["targetKeyId"])
    return inputs["name"], _read_alias(ctx, inputs["name"], inputs) or {}


def _read_alias(ctx: AwsContext, id_: str, _outputs: Outputs) -> Outputs | None:
    aliases = ctx.client("kms").list_aliases()["Aliases"]
    alias = next((a for a in aliases if a["AliasName"] == id_), None)
    if alias is None:
        return None
    key_arn = f"{alias['AliasArn'].split(':alias/')[0]}:key/{alias.get('TargetKeyId')}"
    return {"arn": alias["AliasArn"], "targetKeyArn": key_arn}


def _delete_alias(ctx: AwsContext, id_: str, _outputs: Outputs) -> Deletion:
    ctx.client("kms").delete_alias(AliasName=id_)
    return Deletion()


KINDS = {
    "aws:cloudhsmv2/cluster:Cluster": ResourceKind(
        _create_cluster, _read_cluster, _delete_cluster
    ),
    "aws:cloudhsmv2/hsm:Hsm": ResourceKind(_create_hsm, _read_hsm, _delete_hsm),
    "aws:kms/customKeyStore:CustomKeyStore": ResourceKind(
        _create_store, _read_store, _delete_store
    ),
    "aws:kms/key:Key": ResourceKind(_create_key, _read_key, _delete_key),
    "aws:kms/alias:Alias": ResourceKind(_create_alias, _read_alias, _delete_alias),
}
