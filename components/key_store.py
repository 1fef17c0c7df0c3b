"""The KMS custom key store on the cluster, connected, with a key and an alias.

The key store record is kept on destroy (`retain_on_delete`): KMS refuses to
delete a store whose keys are still pending deletion, so after `pulumi destroy`
the disconnected record stays until the key's deletion window ends, and must
then be removed with `python -m providers.cleanup --custom-key-store-id ...`
(it refuses while keys remain). On a cluster that came
with its users (restored or adopted), `kmsuser` gets the stack's password after
the record exists (so a cluster already backing another key store is refused
before its `kmsuser` is touched) and before the store connects.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.hsm_cluster import KMS_USERNAME, HsmCluster
from providers.crypto_user_password import (
    CryptoUserPassword,
    CryptoUserPasswordArgs,
)
from providers.key_store_connection import (
    KeyStoreConnection,
    KeyStoreConnectionArgs,
)
from stack_config import StackConfig

MAX_CONNECT_ATTEMPTS = 3


class KeyStore(pulumi.ComponentResource):
    """A connected custom key store holding one symmetric key with an alias."""

    custom_key_store_id: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    alias_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        config: StackConfig,
        cluster: HsmCluster,
        region: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fips-keystore:kms:KeyStore", name, None, opts)

        store = _key_store_record(name, config, cluster, self)
        password_set = _kmsuser_password(name, config, cluster, region, store, self)
        connection = KeyStoreConnection(
            f"{name}-connection",
            KeyStoreConnectionArgs(
                region=region,
                custom_key_store_id=store.id,
                timeout_seconds=config.connect_timeout_seconds,
                max_connect_attempts=MAX_CONNECT_ATTEMPTS,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[store, *password_set]),
        )
        key = _symmetric_key(name, config, store, connection, self)
        alias = aws.kms.Alias(
            f"{name}-alias",
            name=config.key_alias,
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.custom_key_store_id = store.id
        self.key_arn = key.arn
        self.key_id = key.key_id
        self.alias_name = alias.name
        self.register_outputs(
            {
                "customKeyStoreId": store.id,
                "keyArn": key.arn,
                "keyId": key.key_id,
                "alias": alias.name,
            }
        )


def _key_store_record(
    name: str, config: StackConfig, cluster: HsmCluster, parent: pulumi.Resource
) -> aws.kms.CustomKeyStore:
    """The key store record, once every user covers every HSM; kept on destroy."""
    return aws.kms.CustomKeyStore(
        f"{name}-store",
        custom_key_store_name=config.key_store_name,
        custom_key_store_type="AWS_CLOUDHSM",
        cloud_hsm_cluster_id=cluster.cluster_id,
        key_store_password=cluster.kmsuser_password,
        trust_anchor_certificate=cluster.trust_anchor_pem,
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=[cluster.coverage, *cluster.hsms],
            retain_on_delete=True,
            additional_secret_outputs=["keyStorePassword"],
        ),
    )


def _symmetric_key(
    name: str,
    config: StackConfig,
    store: aws.kms.CustomKeyStore,
    connection: KeyStoreConnection,
    parent: pulumi.Resource,
) -> aws.kms.Key:
    """The key in the store; KMS creates keys only in a CONNECTED store."""
    return aws.kms.Key(
        f"{name}-key",
        description=f"fips-keystore {config.stack}: symmetric key in CloudHSM "
        f"custom key store {config.key_store_name}",
        custom_key_store_id=store.id,
        customer_master_key_spec="SYMMETRIC_DEFAULT",
        key_usage="ENCRYPT_DECRYPT",
        deletion_window_in_days=config.key_deletion_window_days,
        policy=account_root_policy(parent),
        tags={**config.tags, "fips-keystore:stack": config.stack},
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=[connection], protect=config.protect_keys
        ),
    )


def _kmsuser_password(
    name: str,
    config: StackConfig,
    cluster: HsmCluster,
    region: pulumi.Input[str],
    store: aws.kms.CustomKeyStore,
    parent: pulumi.Resource,
) -> list[CryptoUserPassword]:
    """The stack's password set on a `kmsuser` the cluster came with, if any."""
    if not cluster.has_existing_users:
        return []
    return [
        CryptoUserPassword(
            f"{name}-kmsuser-password",
            CryptoUserPasswordArgs(
                region=region,
                cluster_id=cluster.cluster_id,
                instance_id=cluster.admin_client.instance_id,
                hsm_ips=cluster.hsm_ips,
                username=KMS_USERNAME,
                password_secret_arn=cluster.kmsuser_password_secret_arn,
                admin_password_secret_arn=cluster.admin_password_secret_arn,
                timeout_seconds=config.wait_timeout_seconds,
            ),
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[store]),
        )
    ]


def account_root_policy(parent: pulumi.Resource) -> pulumi.Output[str]:
    """The default key policy: the account root administers and uses the key.

    Keeping the root in the policy means IAM policies in the account decide
    who may use the key, and the key can never become unmanageable.
    """
    identity = aws.get_caller_identity_output(
        opts=pulumi.InvokeOutputOptions(parent=parent)
    )
    return pulumi.Output.all(identity.arn, identity.account_id).apply(
        lambda values: root_policy_document(*values)
    )


def root_policy_document(caller_arn: str, account_id: str) -> str:
    partition = caller_arn.split(":")[1]
    statement = {
        "Sid": "AccountRootAdministersKey",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
