"""The CloudHSM cluster from creation to a `kmsuser` on every HSM.

Order (each step waits for the one before): cluster, first HSM, CSR signed by
the customer CA, cluster initialized, activated from the admin client,
`kmsuser` created, the other HSMs (cloned with `kmsuser` on them), then a
coverage check over all HSMs. The CSR signing waits for the first HSM itself
(its CSR appears when the HSM is ACTIVE) and hands the HSM's address on, so in
the resource graph the first HSM needs only the cluster and only the coverage
check needs it: destroy deletes all HSMs at once. A cluster restored from a backup
(`sourceBackupId`) or adopted ACTIVE (`clusterId`, see
`components.cluster_adoption`) already has its trust anchor and admin, so no
CSR signing or initialization is made, and the activation step only installs
the configured trust anchor (`caCertificate`) on the admin client and checks
that `adminPassword` logs in as admin. An adopted UNINITIALIZED cluster goes
through every step like a new one. The cluster of `clusterId` is read with
`get()`, so destroy never deletes it.
Known gap of adoption: HSMs already in an adopted cluster are not managed
(`hsmCount` HSMs are added to it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.admin_client import AdminClient
from components.cluster_adoption import adopted_cluster
from components.network import Network, nth
from providers.backup_retention import BackupRetention, BackupRetentionArgs
from providers.cluster_activation import ClusterActivation, ClusterActivationArgs
from providers.cluster_initialization import (
    ClusterInitialization,
    ClusterInitializationArgs,
)
from providers.crypto_user import CryptoUser, CryptoUserArgs
from providers.csr_signing import ClusterCsrSigning, ClusterCsrSigningArgs
from providers.customer_ca import CustomerCa, CustomerCaArgs
from providers.generated_password import GeneratedPassword, GeneratedPasswordArgs
from providers.user_coverage import CryptoUserCoverage, CryptoUserCoverageArgs
from stack_config import StackConfig

KMS_USERNAME = "kmsuser"
ADMIN_USERNAME = "admin"


@dataclass(frozen=True)
class PasswordSecret:
    """A password, the secret holding it, and the version that stored it."""

    secret: aws.secretsmanager.Secret
    value: aws.secretsmanager.SecretVersion
    password: pulumi.Output[str]

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.secret.arn


class HsmCluster(pulumi.ComponentResource):
    """A CloudHSM cluster, initialized and activated, with `kmsuser` on every HSM."""

    cluster_id: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    hsms: list[aws.cloudhsmv2.Hsm]
    hsm_ids: pulumi.Output[list[str]]
    hsm_ips: pulumi.Output[list[str]]
    customer_ca: CustomerCa
    trust_anchor_pem: pulumi.Output[str]
    admin_password_secret_arn: pulumi.Output[str]
    kmsuser_password: pulumi.Output[str]
    kmsuser_password_secret_arn: pulumi.Output[str]
    # True when the cluster came with its users (restored, or adopted ACTIVE):
    # its `kmsuser` may hold a password KMS rotated for an earlier key store.
    has_existing_users: bool
    admin_client: AdminClient
    coverage: CryptoUserCoverage

    def __init__(
        self,
        name: str,
        config: StackConfig,
        network: Network,
        region: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fips-keystore:cloudhsm:HsmCluster", name, None, opts)
        self._name, self._config, self._region = name, config, region
        self._child = pulumi.ResourceOptions(parent=self)
        self._waits = pulumi.ResourceOptions(
            parent=self,
            custom_timeouts=pulumi.CustomTimeouts(
                create=f"{config.wait_timeout_minutes}m"
            ),
        )

        adopted = adopted_cluster(config, pulumi.InvokeOptions(parent=self))
        self._initializes = config.initializes_cluster or bool(
            adopted and adopted.needs_initialization
        )
        cluster = self._cluster(network)
        BackupRetention(
            f"{name}-backup-retention",
            BackupRetentionArgs(
                region=region,
                cluster_id=cluster.cluster_id,
                days=config.backup_retention_days,
            ),
            opts=self._child,
        )
        first_hsm = self._hsm(0, cluster, network, [])
        customer_ca = self._customer_ca()
        signing = self._csr_signing(cluster, customer_ca)
        initialized = self._initialization(cluster, signing, customer_ca)
        # The steps up to `kmsuser` reach the first HSM through the signing's
        # record of it, not the HSM resource: nothing but the coverage check then
        # depends on that HSM, and destroy deletes every HSM at once.
        first_hsm_ip = signing.signed_hsm_ip if signing else first_hsm.ip_address
        before_users: list[pulumi.Resource] = [] if signing else [first_hsm]

        admin_secret = self._password_secret(ADMIN_USERNAME, config.admin_password)
        kmsuser_secret = self._password_secret(KMS_USERNAME, config.kmsuser_password)
        admin_client = AdminClient(
            f"{name}-admin",
            config,
            network,
            cluster_security_group_id=cluster.security_group_id,
            secret_arns=[admin_secret.arn, kmsuser_secret.arn],
            opts=self._child,
        )
        activated = self._activation(
            cluster, first_hsm_ip, customer_ca, admin_client, admin_secret, initialized
        )
        crypto_user = self._crypto_user(
            cluster,
            (first_hsm_ip, before_users),
            admin_client,
            admin_secret,
            kmsuser_secret,
            activated,
        )

        other_hsms = [
            self._hsm(index, cluster, network, [crypto_user])
            for index in range(1, config.hsm_count)
        ]
        hsms = [first_hsm, *other_hsms]
        coverage = self._coverage(
            cluster, hsms, crypto_user, admin_client, admin_secret
        )

        self.cluster_id = cluster.cluster_id
        self.security_group_id = cluster.security_group_id
        self.hsms = hsms
        self.hsm_ids = pulumi.Output.all(*[hsm.hsm_id for hsm in hsms])
        self.hsm_ips = pulumi.Output.all(*[hsm.ip_address for hsm in hsms])
        self.customer_ca = customer_ca
        self.trust_anchor_pem = customer_ca.certificate_pem
        self.admin_password_secret_arn = admin_secret.arn
        self.kmsuser_password = kmsuser_secret.password
        self.kmsuser_password_secret_arn = kmsuser_secret.arn
        self.has_existing_users = not self._initializes
        self.admin_client = admin_client
        self.coverage = coverage
        self.register_outputs(
            {
                "clusterId": self.cluster_id,
                "hsmIds": self.hsm_ids,
                "hsmIps": self.hsm_ips,
                "trustAnchorCertificate": self.trust_anchor_pem,
            }
        )

    def _cluster(self, network: Network) -> aws.cloudhsmv2.Cluster:
        config = self._config
        if config.cluster_id is not None:
            return aws.cloudhsmv2.Cluster.get(
                f"{self._name}-cluster", config.cluster_id, opts=self._child
            )
        return aws.cloudhsmv2.Cluster(
            f"{self._name}-cluster",
            hsm_type=config.hsm_type,
            mode=config.mode,
            subnet_ids=network.subnet_ids,
            source_backup_identifier=config.source_backup_id,
            tags={**config.tags, "fips-keystore:stack": config.stack},
            opts=self._waits,
        )

    def _hsm(
        self,
        index: int,
        cluster: aws.cloudhsmv2.Cluster,
        network: Network,
        after: Sequence[pulumi.Resource],
    ) -> aws.cloudhsmv2.Hsm:
        """HSM number `index` in the subnet (and so the zone) of the same index."""
        return aws.cloudhsmv2.Hsm(
            f"{self._name}-hsm-{index}",
            cluster_id=cluster.cluster_id,
            subnet_id=nth(network.subnet_ids, index),
            opts=pulumi.ResourceOptions.merge(
                self._waits, pulumi.ResourceOptions(depends_on=list(after))
            ),
        )

    def _customer_ca(self) -> CustomerCa:
        config = self._config
        supplied_key = (
            pulumi.Output.secret(config.ca_private_key)
            if config.ca_private_key is not None
            else None
        )
        return CustomerCa(
            f"{self._name}-customer-ca",
            CustomerCaArgs(
                common_name=config.ca_common_name,
                organization=config.ca_organization,
                key_bits=config.ca_key_bits,
                validity_days=config.ca_validity_days,
                supplied_certificate_pem=config.ca_certificate,
                supplied_private_key_pem=supplied_key,
                signs_csr=self._initializes,
            ),
            opts=self._child,
        )

    def _csr_signing(
        self, cluster: aws.cloudhsmv2.Cluster, customer_ca: CustomerCa
    ) -> ClusterCsrSigning | None:
        """Sign the CSR of whichever HSM comes first; nothing for an existing identity.

        It needs only the cluster: it waits for the first HSM's CSR itself.
        """
        config = self._config
        if not self._initializes:
            return None
        return ClusterCsrSigning(
            f"{self._name}-csr-signing",
            ClusterCsrSigningArgs(
                region=self._region,
                cluster_id=cluster.cluster_id,
                ca_certificate_pem=customer_ca.certificate_pem,
                ca_private_key_pem=pulumi.Output.secret(customer_ca.private_key_pem),
                aws_root_certificate_pem=config.aws_root_certificate_pem,
                manufacturer_root_certificate_pem=(
                    config.manufacturer_root_certificate_pem
                ),
                require_identity=config.require_hsm_identity,
                validity_days=config.ca_validity_days,
                timeout_seconds=config.wait_timeout_seconds,
            ),
            opts=self._child,
        )

    def _initialization(
        self,
        cluster: aws.cloudhsmv2.Cluster,
        signing: ClusterCsrSigning | None,
        customer_ca: CustomerCa,
    ) -> ClusterInitialization | None:
        """Initialize with the signed CSR; nothing for an existing identity."""
        if signing is None:
            return None
        config = self._config
        return ClusterInitialization(
            f"{self._name}-initialization",
            ClusterInitializationArgs(
                region=self._region,
                cluster_id=cluster.cluster_id,
                signed_certificate_pem=signing.signed_certificate_pem,
                trust_anchor_pem=customer_ca.certificate_pem,
                timeout_seconds=config.wait_timeout_seconds,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[signing]),
        )

    def _password_secret(self, username: str, configured: str | None) -> PasswordSecret:
        """The password (configured, or generated once) in a Secrets Manager secret.

        Destroy leaves the secret in the default 30-day recovery window: cluster
        backups outlive the stack and only the admin password opens them.
        """
        if configured is not None:
            password = pulumi.Output.secret(configured)
        else:
            generated = GeneratedPassword(
                f"{self._name}-{username}-password",
                GeneratedPasswordArgs(length=32),
                opts=self._child,
            )
            password = pulumi.Output.secret(generated.value)

        stack, tags = self._config.stack, self._config.tags
        secret = aws.secretsmanager.Secret(
            f"{self._name}-{username}-secret",
            name_prefix=f"fips-keystore/{stack}/{username}-password-",
            description=f"CloudHSM {username} password of fips-keystore stack {stack}",
            tags={**tags, "fips-keystore:stack": stack},
            opts=self._child,
        )
        value = aws.secretsmanager.SecretVersion(
            f"{self._name}-{username}-secret-value",
            secret_id=secret.arn,
            secret_string=password,
            opts=self._child,
        )
        return PasswordSecret(secret, value, password)

    def _activation(
        self,
        cluster: aws.cloudhsmv2.Cluster,
        first_hsm_ip: pulumi.Input[str],
        customer_ca: CustomerCa,
        admin_client: AdminClient,
        admin_secret: PasswordSecret,
        initialized: ClusterInitialization | None,
    ) -> ClusterActivation:
        """Activate a new cluster; check the admin password of an existing one.

        On a cluster that is already ACTIVE (restored, adopted) the provider
        only installs the trust anchor on the admin client and logs in as admin.
        """
        config = self._config
        after: list[pulumi.Resource] = [admin_client, admin_secret.value]
        if initialized is not None:
            after.append(initialized)
        return ClusterActivation(
            f"{self._name}-activation",
            ClusterActivationArgs(
                region=self._region,
                cluster_id=cluster.cluster_id,
                instance_id=admin_client.instance_id,
                hsm_ip=first_hsm_ip,
                trust_anchor_pem=customer_ca.certificate_pem,
                admin_password_secret_arn=admin_secret.arn,
                timeout_seconds=config.wait_timeout_seconds,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )

    def _crypto_user(
        self,
        cluster: aws.cloudhsmv2.Cluster,
        first_hsm: tuple[pulumi.Input[str], list[pulumi.Resource]],
        admin_client: AdminClient,
        admin_secret: PasswordSecret,
        kmsuser_secret: PasswordSecret,
        activated: ClusterActivation,
    ) -> CryptoUser:
        """`kmsuser` on the first HSM, before the others are cloned from it.

        `first_hsm` is the HSM's address and what to wait for before using it.
        On an adopted cluster the user stays on destroy, with the cluster: the
        keys KMS made in the HSMs belong to it.
        """
        first_hsm_ip, first_hsm_ready = first_hsm
        after: list[pulumi.Resource] = [
            *first_hsm_ready,
            admin_client,
            admin_secret.value,
            kmsuser_secret.value,
            activated,
        ]
        return CryptoUser(
            f"{self._name}-kmsuser",
            CryptoUserArgs(
                region=self._region,
                cluster_id=cluster.cluster_id,
                instance_id=admin_client.instance_id,
                hsm_ips=[first_hsm_ip],
                username=KMS_USERNAME,
                password_secret_arn=kmsuser_secret.arn,
                admin_password_secret_arn=admin_secret.arn,
                timeout_seconds=self._config.wait_timeout_seconds,
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=after,
                retain_on_delete=self._config.cluster_id is not None,
            ),
        )

    def _coverage(
        self,
        cluster: aws.cloudhsmv2.Cluster,
        hsms: Sequence[aws.cloudhsmv2.Hsm],
        crypto_user: pulumi.Resource,
        admin_client: AdminClient,
        admin_secret: PasswordSecret,
    ) -> CryptoUserCoverage:
        """Every user on every HSM, checked once `kmsuser` exists (even with no
        HSM added after it, when nothing else orders the check after it)."""
        return CryptoUserCoverage(
            f"{self._name}-coverage",
            CryptoUserCoverageArgs(
                region=self._region,
                cluster_id=cluster.cluster_id,
                instance_id=admin_client.instance_id,
                hsm_ips=[hsm.ip_address for hsm in hsms],
                usernames=[ADMIN_USERNAME, KMS_USERNAME],
                admin_password_secret_arn=admin_secret.arn,
                timeout_seconds=self._config.wait_timeout_seconds,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*hsms, crypto_user]),
        )
