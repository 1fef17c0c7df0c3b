"""What the rehearsal checks after `up` and after `destroy`, against the emulator.

Each check answers "pass" or "fail: <reason>". The crypto user's coverage is read
the way an operator would: `cloudhsm-cli user list` run through SSM on the admin
instance, the admin password fetched there from Secrets Manager by ARN.
"""

import shlex
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pulumi.runtime.rpc import unwrap_rpc_secret

from providers.errors import FipsKeystoreError
from providers.ssm_commands import cli_data, run_script
from providers.waiting import Clock
from rehearsal.engine.aws_adapter import AwsContext
from rehearsal.engine.errors import RehearsalError
from rehearsal.engine.state import ResourceRecord

PASS = "pass"
# What a check may meet: AWS errors, the project's own, and outputs of the wrong
# shape (a missing or empty output); anything else is a bug and propagates.
_CHECK_ERRORS = (
    ClientError,
    BotoCoreError,
    FipsKeystoreError,
    RehearsalError,
    KeyError,
    ValueError,
    TypeError,
)
_SAMPLE_PLAINTEXT = b"fips-keystore rehearsal"


class CheckFailed(RehearsalError):
    """A check found the stack not as it should be."""


def run_checks(checks: Mapping[str, Callable[[], None]]) -> dict[str, str]:
    """Run each check; a raised error becomes "fail: <message>"."""
    results = {}
    for name, check in checks.items():
        try:
            check()
        except _CHECK_ERRORS as error:
            results[name] = f"fail: {error}"
        else:
            results[name] = PASS
    return results


def deployment_checks(
    ctx: AwsContext,
    outputs: Mapping[str, Any],
    expected_outputs: tuple[str, ...],
    hsm_count: int,
    crypto_user: str,
    clock: Clock,
    key_store: bool = True,
) -> dict[str, Callable[[], None]]:
    """The checks of a finished `up`, by name, ready for `run_checks`.

    Without a key store (`key_store` false) there is no key to try and no
    connection to check, and its outputs are not expected.
    """
    plain = {key: unwrap_rpc_secret(value) for key, value in outputs.items()}
    expected = (
        expected_outputs
        if key_store
        else tuple(name for name in expected_outputs if name not in KEY_STORE_OUTPUTS)
    )
    found: dict[str, Callable[[], None]] = {
        "outputs_present": lambda: _outputs_present(plain, expected),
        "cluster_active_with_hsms": lambda: _cluster_active(
            ctx, plain["clusterId"], hsm_count
        ),
        "crypto_user_full_coverage": lambda: _crypto_user_coverage(
            ctx, plain, crypto_user, clock
        ),
    }
    if key_store:
        found["key_encrypts_and_decrypts"] = lambda: _key_round_trip(
            ctx, plain["kmsKeyId"]
        )
        found["key_store_connected"] = lambda: _key_store_connected(
            ctx, plain["customKeyStoreId"]
        )
    return found


# The outputs a stack has only when it makes a key store (createKeyStore).
KEY_STORE_OUTPUTS = frozenset(
    {"kmsKeyArn", "kmsKeyId", "kmsKeyAlias", "customKeyStoreId"}
)


HOURLY_TYPES = (
    "aws:cloudhsmv2/cluster:Cluster",
    "aws:cloudhsmv2/hsm:Hsm",
    "aws:ec2/instance:Instance",
    "aws:ec2/natGateway:NatGateway",
)


def hourly_charges_check(
    ctx: AwsContext, records: Iterable[ResourceRecord]
) -> dict[str, Callable[[], None]]:
    """The check of a finished destroy: nothing of this stack billed by the hour.

    Only the stack's own resources count (the ids its state held, adopted ones
    excepted: destroy leaves those on purpose), so other stacks sharing the
    account, as in a shared emulator, cannot fail it.
    """
    owned = {
        record.id
        for record in records
        if record.type in HOURLY_TYPES and record.id and not record.external
    }
    return {"no_hourly_charges_left": lambda: _nothing_billed_hourly(ctx, owned)}


def _outputs_present(outputs: Mapping[str, Any], expected: tuple[str, ...]) -> None:
    missing = [name for name in expected if outputs.get(name) in (None, "", [], {})]
    if missing:
        raise CheckFailed(
            f"stack outputs {', '.join(missing)} are missing or empty; the program "
            "must export every output of the contract (components/stack.py)"
        )


def _key_round_trip(ctx: AwsContext, key_id: str) -> None:
    kms = ctx.client("kms")
    blob = kms.encrypt(KeyId=key_id, Plaintext=_SAMPLE_PLAINTEXT)["CiphertextBlob"]

    plaintext = kms.decrypt(CiphertextBlob=blob, KeyId=key_id)["Plaintext"]
    if plaintext != _SAMPLE_PLAINTEXT:
        raise CheckFailed(f"KMS key {key_id} decrypted its ciphertext to other bytes")


def _cluster_active(ctx: AwsContext, cluster_id: str, hsm_count: int) -> None:
    clusters = ctx.client("cloudhsmv2").describe_clusters(
        Filters={"clusterIds": [cluster_id]}
    )["Clusters"]
    if not clusters or clusters[0]["State"] != "ACTIVE":
        state = clusters[0]["State"] if clusters else "not found"
        raise CheckFailed(f"cluster {cluster_id} is {state}, expected ACTIVE")

    active = [hsm for hsm in clusters[0].get("Hsms", []) if hsm["State"] == "ACTIVE"]
    zones = {hsm["AvailabilityZone"] for hsm in active}
    if len(active) != hsm_count or len(zones) != len(active):
        raise CheckFailed(
            f"cluster {cluster_id} has {len(active)} ACTIVE HSMs in zones "
            f"{sorted(zones)}; expected {hsm_count} in distinct zones"
        )


def _crypto_user_coverage(
    ctx: AwsContext, outputs: Mapping[str, Any], crypto_user: str, clock: Clock
) -> None:
    secret_arn = shlex.quote(str(outputs["adminPasswordSecretArn"]))
    script = (
        "set -euo pipefail\n"
        f"PW=$(aws secretsmanager get-secret-value --secret-id {secret_arn} "
        "--query SecretString --output text)\n"
        'CLOUDHSM_ROLE=admin CLOUDHSM_PIN="admin:$PW" '
        "/opt/cloudhsm/bin/cloudhsm-cli user list\n"
    )
    result = run_script(
        outputs["clientInstanceId"],
        script,
        region=ctx.region,
        comment="fips-keystore rehearsal: user list",
        timeout_seconds=600,
        clock=clock,
    )

    users = cli_data(result.stdout, "user list")["users"]
    found = [user for user in users if user.get("username") == crypto_user]
    if not found or found[0].get("cluster-coverage") != "full":
        coverage = found[0].get("cluster-coverage") if found else "absent"
        raise CheckFailed(
            f"crypto user {crypto_user} coverage is {coverage}, expected full"
        )


def _key_store_connected(ctx: AwsContext, store_id: str) -> None:
    stores = ctx.client("kms").describe_custom_key_stores(CustomKeyStoreId=store_id)
    state = stores["CustomKeyStores"][0]["ConnectionState"]
    if state != "CONNECTED":
        raise CheckFailed(f"custom key store {store_id} is {state}, expected CONNECTED")


def _nothing_billed_hourly(ctx: AwsContext, owned: set[str]) -> None:
    left = _clusters_and_hsms_left(ctx, owned) + _instances_and_gateways_left(
        ctx, owned
    )
    if left:
        raise CheckFailed(
            f"still billed by the hour after destroy: {', '.join(left)}; delete them "
            "by hand (or run destroy again) to stop the charges"
        )


def _clusters_and_hsms_left(ctx: AwsContext, owned: set[str]) -> list[str]:
    """The stack's clusters not yet deleted, and every HSM in them or of the stack."""
    left = []
    for cluster in ctx.client("cloudhsmv2").describe_clusters()["Clusters"]:
        ours = cluster["ClusterId"] in owned
        if ours and cluster["State"] != "DELETED":
            left.append(f"cluster {cluster['ClusterId']} ({cluster['State']})")
        left += [
            f"HSM {hsm['HsmId']} ({hsm['State']})"
            for hsm in cluster.get("Hsms", [])
            if ours or hsm["HsmId"] in owned
        ]
    return left


def _instances_and_gateways_left(ctx: AwsContext, owned: set[str]) -> list[str]:
    ec2 = ctx.client("ec2")
    left = []
    for reservation in ec2.describe_instances()["Reservations"]:
        for instance in reservation["Instances"]:
            running = instance["State"]["Name"] not in ("terminated", "shutting-down")
            if running and instance["InstanceId"] in owned:
                left.append(f"instance {instance['InstanceId']}")
    for gateway in ec2.describe_nat_gateways()["NatGateways"]:
        alive = gateway["State"] not in ("deleted", "deleting")
        if alive and gateway["NatGatewayId"] in owned:
            left.append(f"NAT gateway {gateway['NatGatewayId']}")
    return left
