"""Composes the whole key store from stack config and returns the stack outputs.

`build` is what `__main__.py` runs; tests and the rehearsal call it directly.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

import cost_estimate
from components.hsm_cluster import HsmCluster
from components.key_store import KeyStore
from components.network import Network
from stack_config import StackConfig

OUTPUT_NAMES = (
    "kmsKeyArn",
    "kmsKeyId",
    "kmsKeyAlias",
    "customKeyStoreId",
    "clusterId",
    "hsmIds",
    "hsmIps",
    "clusterSecurityGroupId",
    "clientSecurityGroupId",
    "clientInstanceId",
    "trustAnchorCertificate",
    "adminPasswordSecretArn",
)


def build(config: StackConfig) -> dict[str, Any]:
    """Declare every resource of the stack; return the outputs by export name.

    `caPrivateKey` is added, as a secret, only when the stack generated its CA.
    The key store outputs are None when `createKeyStore` is false.
    """
    region = aws.get_region_output().region
    region.apply(lambda name: announce_cost(config, name))
    network = Network("network", config)
    cluster = HsmCluster("cluster", config, network, region)
    key_store = (
        KeyStore("key-store", config, cluster, region)
        if config.create_key_store
        else None
    )

    outputs: dict[str, Any] = {
        "kmsKeyArn": key_store.key_arn if key_store else None,
        "kmsKeyId": key_store.key_id if key_store else None,
        "kmsKeyAlias": key_store.alias_name if key_store else None,
        "customKeyStoreId": key_store.custom_key_store_id if key_store else None,
        "clusterId": cluster.cluster_id,
        "hsmIds": cluster.hsm_ids,
        "hsmIps": cluster.hsm_ips,
        "clusterSecurityGroupId": cluster.security_group_id,
        "clientSecurityGroupId": cluster.admin_client.security_group_id,
        "clientInstanceId": cluster.admin_client.instance_id,
        "trustAnchorCertificate": cluster.trust_anchor_pem,
        "adminPasswordSecretArn": cluster.admin_password_secret_arn,
    }
    if config.ca_certificate is None:
        outputs["caPrivateKey"] = pulumi.Output.secret(
            cluster.customer_ca.private_key_pem
        )
    return outputs


def announce_cost(config: StackConfig, region: str) -> None:
    """Print the stack's estimated hourly and monthly cost (preview and up)."""
    if config.hsm_type in cost_estimate.RETIRED_HSM_TYPES:
        pulumi.log.info(f"Cost estimate: no price for {config.hsm_type} is kept.")
        return

    try:
        estimate = cost_estimate.estimate(
            config.hsm_type,
            config.hsm_count,
            config.instance_type,
            nat_gateways=1 if config.creates_network else 0,
            region=region,
            key_store=config.create_key_store,
        )
    except ValueError as error:
        # An estimate must never stop a deployment: a type missing from the
        # price table only loses the estimate.
        pulumi.log.info(f"Cost estimate unavailable: {error}")
        return
    pulumi.log.info("\n".join(estimate.lines()))
