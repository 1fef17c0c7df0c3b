"""Decides, for each pending create, whether to import what AWS holds or clear it.

Only reads AWS. A pulumi-aws resource is looked for by what the program gave
it: the cluster by its `fips-keystore:stack` tag, subnets and HSM type; an HSM by
its cluster and subnet; the key store record by its name; the key by its key
store and description; the alias by its name. Resources whose id the state
already records are never offered again, so a second cluster or HSM of the same
stack is reported, not adopted twice. Known gap: other pulumi-aws types (network,
instance, IAM, secrets) are not looked for; they are listed as unresolved with
what to do by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from providers.store_keys import keys_in_store

DYNAMIC_PREFIX = "pulumi-python:dynamic"
GONE_CLUSTER_STATES = frozenset({"DELETE_IN_PROGRESS", "DELETED"})
GONE_HSM_STATES = frozenset({"DELETED"})
GONE_KEY_STATES = frozenset({"PendingDeletion", "PendingReplicaDeletion"})

Client = Callable[[str], Any]


@dataclass(frozen=True)
class PendingCreate:
    """A create the interrupted run started and never recorded."""

    urn: str
    type: str
    inputs: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


@dataclass
class RecoveryPlan:
    """What to import (URN -> id), what to clear, and what needs a person."""

    imports: dict[str, str] = field(default_factory=dict)
    cleared: dict[str, str] = field(default_factory=dict)
    unresolved: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """True when every pending create is imported or safe to clear."""
        return not self.unresolved

    def refresh_command(self, stack: str) -> list[str]:
        """The `pulumi refresh` that applies the plan (only when complete)."""
        command = ["pulumi", "refresh", "--stack", stack, "--yes", "--skip-preview"]
        for urn, id_ in self.imports.items():
            # A flat list of URN, id pairs, one value per flag.
            command += ["--import-pending-creates", urn]
            command += ["--import-pending-creates", id_]
        if self.cleared:
            command.append("--clear-pending-creates")
        return command


def plan_recovery(
    pending: Iterable[PendingCreate],
    recorded_ids: Collection[str],
    region: str | None = None,
    client: Client | None = None,
) -> RecoveryPlan:
    """Look each pending create up in AWS; never changes anything there."""
    client = client or _client_factory(region)
    plan = RecoveryPlan()
    for create in pending:
        _plan_one(create, recorded_ids, client, plan)
    return plan


def _plan_one(
    create: PendingCreate,
    recorded_ids: Collection[str],
    client: Client,
    plan: RecoveryPlan,
) -> None:
    if create.type.startswith(DYNAMIC_PREFIX):
        plan.cleared[create.urn] = "dynamic resource: the next `pulumi up` adopts it"
        return
    locate = LOCATORS.get(create.type)
    if locate is None:
        plan.unresolved[create.urn] = _not_looked_for(create)
        return

    found = [id_ for id_ in locate(client, create.inputs) if id_ not in recorded_ids]
    if not found:
        plan.cleared[create.urn] = "not in AWS: the create never happened"
    elif len(found) == 1:
        plan.imports[create.urn] = found[0]
    else:
        plan.unresolved[create.urn] = (
            f"{len(found)} candidates in AWS ({', '.join(sorted(found))}) match "
            f"{create.type} {create.name}. Import the one the interrupted run "
            f"made with `pulumi refresh --import-pending-creates {create.urn} "
            "<id>` and delete the others by hand"
        )


def _not_looked_for(create: PendingCreate) -> str:
    return (
        f"{create.type} {create.name} is not looked for automatically. Find it "
        "in the AWS console by the name or tags in its inputs (`pulumi stack "
        "export`), then either import it with `pulumi refresh "
        f"--import-pending-creates {create.urn} <id>`, or delete it and run "
        "`pulumi refresh --clear-pending-creates`"
    )


def _client_factory(region: str | None) -> Client:
    session = boto3.session.Session(region_name=region)
    return lambda service: session.client(service)


def _clusters(client: Client, inputs: Mapping[str, Any]) -> list[str]:
    cloudhsm = client("cloudhsmv2")
    wanted_tags = {k: str(v) for k, v in (inputs.get("tags") or {}).items()}
    found = []
    for cluster in _all_clusters(cloudhsm):
        if cluster["State"] in GONE_CLUSTER_STATES:
            continue
        subnets = sorted((cluster.get("SubnetMapping") or {}).values())
        if subnets != sorted(inputs.get("subnetIds") or []):
            continue
        if inputs.get("hsmType") and cluster.get("HsmType") != inputs["hsmType"]:
            continue
        if wanted_tags.items() <= _cluster_tags(cloudhsm, cluster["ClusterId"]).items():
            found.append(str(cluster["ClusterId"]))
    return found


def _all_clusters(cloudhsm: Any) -> list[dict[str, Any]]:
    clusters, token = [], None
    while True:
        page = cloudhsm.describe_clusters(**({"NextToken": token} if token else {}))
        clusters += page.get("Clusters", [])
        token = page.get("NextToken")
        if not token:
            return clusters


def _cluster_tags(cloudhsm: Any, cluster_id: str) -> dict[str, str]:
    tags = cloudhsm.list_tags(ResourceId=cluster_id).get("TagList", [])
    return {tag["Key"]: tag["Value"] for tag in tags}


def _hsms(client: Client, inputs: Mapping[str, Any]) -> list[str]:
    clusters = client("cloudhsmv2").describe_clusters(
        Filters={"clusterIds": [inputs["clusterId"]]}
    )["Clusters"]
    hsms = clusters[0].get("Hsms", []) if clusters else []
    return [
        str(hsm["HsmId"])
        for hsm in hsms
        if hsm["State"] not in GONE_HSM_STATES and _same_place(hsm, inputs)
    ]


def _same_place(hsm: Mapping[str, Any], inputs: Mapping[str, Any]) -> bool:
    if inputs.get("subnetId"):
        return bool(hsm.get("SubnetId") == inputs["subnetId"])
    return bool(hsm.get("AvailabilityZone") == inputs.get("availabilityZone"))


def _key_stores(client: Client, inputs: Mapping[str, Any]) -> list[str]:
    try:
        stores = client("kms").describe_custom_key_stores(
            CustomKeyStoreName=inputs["customKeyStoreName"]
        )["CustomKeyStores"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "CustomKeyStoreNotFoundException":
            return []
        raise
    return [str(store["CustomKeyStoreId"]) for store in stores]


def _keys(client: Client, inputs: Mapping[str, Any]) -> list[str]:
    store_id = str(inputs.get("customKeyStoreId"))
    description = inputs.get("description") or ""
    return [
        key.key_id
        for key in keys_in_store(store_id, kms=client("kms"))
        if key.state not in GONE_KEY_STATES and key.description == description
    ]


def _aliases(client: Client, inputs: Mapping[str, Any]) -> list[str]:
    found = []
    for page in client("kms").get_paginator("list_aliases").paginate():
        found += [
            str(alias["AliasName"])
            for alias in page.get("Aliases", [])
            if alias["AliasName"] == inputs.get("name")
        ]
    return found


LOCATORS: dict[str, Callable[[Client, Mapping[str, Any]], list[str]]] = {
    "aws:cloudhsmv2/cluster:Cluster": _clusters,
    "aws:cloudhsmv2/hsm:Hsm": _hsms,
    "aws:kms/customKeyStore:CustomKeyStore": _key_stores,
    "aws:kms/key:Key": _keys,
    "aws:kms/alias:Alias": _aliases,
}
