"""The resource classes: type tokens, props, secret outputs, pickled providers."""

from __future__ import annotations

import base64
from typing import Any

import dill
import pulumi
import pytest
from pulumi import ResourceOptions
from pulumi.dynamic.dynamic import serialize_provider

from providers.backup_retention import BackupRetention, BackupRetentionArgs
from providers.cluster_activation import ClusterActivation, ClusterActivationArgs
from providers.cluster_initialization import (
    ClusterInitialization,
    ClusterInitializationArgs,
)
from providers.crypto_user import CryptoUser, CryptoUserArgs
from providers.crypto_user_password import CryptoUserPassword, CryptoUserPasswordArgs
from providers.csr_signing import ClusterCsrSigning, ClusterCsrSigningArgs
from providers.customer_ca import CustomerCa, CustomerCaArgs
from providers.generated_password import GeneratedPassword, GeneratedPasswordArgs
from providers.key_store_connection import KeyStoreConnection, KeyStoreConnectionArgs
from providers.user_coverage import CryptoUserCoverage, CryptoUserCoverageArgs

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:s"
# (resource, args, additional_secret_outputs registered, outputs declared None);
# None: the resource passes no additional_secret_outputs (it has no secret).
CASES: list[tuple[type, Any, list[str] | None, list[str]]] = [
    (GeneratedPassword, GeneratedPasswordArgs(), ["value"], ["value"]),
    (
        CustomerCa,
        CustomerCaArgs(common_name="CA", organization="O"),
        ["private_key_pem", "supplied_private_key_pem"],
        ["certificate_pem", "fingerprint_sha256", "generated"],
    ),
    (
        ClusterCsrSigning,
        ClusterCsrSigningArgs(
            cluster_id="cluster-abcdefghijk",
            hsm_id="hsm-abcdefghijk",
            ca_certificate_pem="C",
            ca_private_key_pem="K",
        ),
        ["ca_private_key_pem"],
        ["signed_certificate_pem", "identity_verified", "signed_hsm_id"],
    ),
    (
        BackupRetention,
        BackupRetentionArgs(cluster_id="cluster-abcdefghijk", days=90),
        [],
        [],
    ),
    (
        ClusterInitialization,
        ClusterInitializationArgs(
            cluster_id="c", signed_certificate_pem="S", trust_anchor_pem="T"
        ),
        [],
        ["cluster_state"],
    ),
    (
        ClusterActivation,
        ClusterActivationArgs(
            cluster_id="c",
            instance_id="i",
            hsm_ip="10.0.0.1",
            trust_anchor_pem="T",
            admin_password_secret_arn=ARN,
        ),
        [],
        ["cluster_state"],
    ),
    (
        CryptoUser,
        CryptoUserArgs(
            cluster_id="c",
            instance_id="i",
            hsm_ips=["10.0.0.1"],
            password_secret_arn=ARN,
            admin_password_secret_arn=ARN,
        ),
        [],
        ["hsm_count_at_creation"],
    ),
    (
        CryptoUserPassword,
        CryptoUserPasswordArgs(
            cluster_id="c",
            instance_id="i",
            hsm_ips=["10.0.0.1", "10.0.1.1"],
            password_secret_arn=ARN,
            admin_password_secret_arn=ARN,
        ),
        None,
        [],
    ),
    (
        CryptoUserCoverage,
        CryptoUserCoverageArgs(
            cluster_id="c",
            instance_id="i",
            hsm_ips=["10.0.0.1", "10.0.1.1"],
            usernames=["kmsuser"],
            admin_password_secret_arn=ARN,
        ),
        [],
        ["coverage"],
    ),
    (
        KeyStoreConnection,
        KeyStoreConnectionArgs(custom_key_store_id="cks-0123"),
        [],
        ["connection_state"],
    ),
]


@pytest.fixture
def registrations(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What each resource passes to CustomResource, without a Pulumi engine."""
    seen: list[dict[str, Any]] = []

    def record(
        self: Any, t: str, name: str, props: dict, opts: ResourceOptions
    ) -> None:
        seen.append({"type": t, "name": name, "props": props, "opts": opts})

    monkeypatch.setattr(pulumi.CustomResource, "__init__", record)
    monkeypatch.setattr(
        "pulumi.dynamic.dynamic._serialize",
        lambda _secret, fn, value: (fn(value), False),
    )
    monkeypatch.setattr(pulumi.Output, "secret", staticmethod(lambda value: value))
    return seen


@pytest.mark.parametrize(
    ("resource", "args", "secrets", "outputs"),
    CASES,
    ids=[case[0].__name__ for case in CASES],
)
def test_construct_registers_type_props_and_secret_outputs(
    registrations: list[dict[str, Any]],
    resource: type,
    args: Any,
    secrets: list[str] | None,
    outputs: list[str],
) -> None:
    resource("r", args, ResourceOptions(protect=True))

    registered = registrations[0]
    assert registered["type"] == f"pulumi-python:dynamic:{resource.__name__}"
    assert registered["opts"].protect is True
    assert registered["opts"].additional_secret_outputs == secrets
    for name in outputs:
        assert name in registered["props"] and registered["props"][name] is None
    provider = dill.loads(base64.b64decode(registered["props"]["__provider"]))
    assert type(provider).__name__ == f"{resource.__name__}Provider"


@pytest.mark.parametrize("resource", [case[0] for case in CASES])
def test_serialize_provider_round_trips_through_pulumi_pickler(resource: type) -> None:
    module = __import__(resource.__module__, fromlist=["_"])
    provider_class = getattr(module, f"{resource.__name__}Provider")

    restored = dill.loads(base64.b64decode(serialize_provider(provider_class())))

    assert isinstance(restored, provider_class)
