"""Every dynamic provider's check() lets preview unknowns through (DESIGN.md 2).

During preview an input that comes from another resource not made yet arrives
as the unknown sentinel. check() must neither fail nor raise on it, for each
input alone and for all at once, in a create preview (no olds) and an update
preview (olds are the last inputs).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from typing import Any

import pytest
from pulumi.dynamic import ResourceProvider
from pulumi.runtime.rpc import UNKNOWN

import providers
from tests.providers import pki

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:fips/admin-AbCdEf"
KMS_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:fips/kmsuser-AbCdEf"
CLUSTER = {"region": "us-east-1", "cluster_id": "cluster-abcdefghijk"}
CLIENT = {
    **CLUSTER,
    "instance_id": "i-0123456789abcdef0",
    "admin_password_secret_arn": ARN,
    "timeout_seconds": 1800,
}


@functools.cache
def ca_pems() -> tuple[str, str]:
    key = pki.rsa_key()
    return pki.pem(pki.certificate("Test CA", key)), pki.key_pem(key)


@functools.cache
def anchor_and_signed() -> tuple[str, str]:
    ca_key = pki.rsa_key()
    signed = pki.certificate("HSM", pki.rsa_key(), "Root", ca_key, ca=None)
    return pki.pem(pki.certificate("Root", ca_key)), pki.pem(signed)


def valid_inputs(provider_name: str) -> dict[str, Any]:
    """Inputs the provider's check() accepts, one value for every Args field."""
    ca_certificate, ca_key = ca_pems()
    anchor, signed = anchor_and_signed()
    builders: dict[str, Callable[[], dict[str, Any]]] = {
        "GeneratedPasswordProvider": lambda: {"length": 32},
        "CustomerCaProvider": lambda: {
            "common_name": "Test CA",
            "organization": "fips-keystore tests",
            "key_bits": 2048,
            "validity_days": 365,
            "supplied_certificate_pem": ca_certificate,
            "supplied_private_key_pem": ca_key,
            "signs_csr": True,
        },
        "ClusterCsrSigningProvider": lambda: {
            **CLUSTER,
            "hsm_id": "hsm-abcdefghijk",
            "ca_certificate_pem": ca_certificate,
            "ca_private_key_pem": ca_key,
            "aws_root_certificate_pem": anchor,
            "manufacturer_root_certificate_pem": anchor,
            "require_identity": True,
            "validity_days": 365,
            "timeout_seconds": 3600,
        },
        "BackupRetentionProvider": lambda: {**CLUSTER, "days": 90},
        "ClusterInitializationProvider": lambda: {
            **CLUSTER,
            "signed_certificate_pem": signed,
            "trust_anchor_pem": anchor,
            "timeout_seconds": 1800,
        },
        "ClusterActivationProvider": lambda: {
            **CLIENT,
            "hsm_ip": "10.0.0.10",
            "trust_anchor_pem": anchor,
        },
        "CryptoUserProvider": lambda: {
            **CLIENT,
            "hsm_ips": ["10.0.0.10"],
            "username": "kmsuser",
            "password_secret_arn": KMS_ARN,
        },
        "CryptoUserPasswordProvider": lambda: {
            **CLIENT,
            "hsm_ips": ["10.0.0.10", "10.0.1.10"],
            "username": "kmsuser",
            "password_secret_arn": KMS_ARN,
        },
        "CryptoUserCoverageProvider": lambda: {
            **CLIENT,
            "hsm_ips": ["10.0.0.10", "10.0.1.10"],
            "usernames": ["admin", "kmsuser"],
        },
        "KeyStoreConnectionProvider": lambda: {
            "region": "us-east-1",
            "custom_key_store_id": "cks-0123456789abcdef0",
            "timeout_seconds": 3600,
            "max_connect_attempts": 3,
        },
    }
    return builders[provider_name]()


def dynamic_providers() -> list[type[ResourceProvider]]:
    """Every ResourceProvider subclass defined in a module of providers/."""
    found = []
    for module_info in pkgutil.iter_modules(providers.__path__):
        module = importlib.import_module(f"providers.{module_info.name}")
        found += [
            value
            for value in vars(module).values()
            if inspect.isclass(value)
            and issubclass(value, ResourceProvider)
            and value is not ResourceProvider
            and value.__module__ == module.__name__
        ]
    return sorted(found, key=lambda provider: provider.__name__)


def args_class(provider: type[ResourceProvider]) -> type:
    """The provider's Args dataclass: the resource's inputs, by the naming rule."""
    module = importlib.import_module(provider.__module__)
    name = provider.__name__.removesuffix("Provider")
    return getattr(module, f"{name}Args")  # type: ignore[no-any-return]


def input_names(provider: type[ResourceProvider]) -> list[str]:
    return [field.name for field in dataclasses.fields(args_class(provider))]


PROVIDERS = dynamic_providers()
# Every input is a pulumi.Input, so any may be another resource's output.
CASES = [(provider, name) for provider in PROVIDERS for name in input_names(provider)]


def failures(
    provider: type[ResourceProvider], olds: dict[str, Any], news: dict[str, Any]
) -> dict[str, str]:
    result = provider().check(olds, news)
    return {failure.property: failure.reason for failure in result.failures or []}


def unknown_variants(value: Any) -> list[Any]:
    """The whole value unknown and, for a list, one element of it unknown."""
    if isinstance(value, list):
        return [UNKNOWN, [UNKNOWN], [*value[:-1], UNKNOWN]]
    return [UNKNOWN]


def test_dynamic_providers_finds_every_provider_module() -> None:
    names = {provider.__name__ for provider in PROVIDERS}

    assert len(PROVIDERS) >= 10
    assert {"CryptoUserPasswordProvider", "BackupRetentionProvider"} <= names


@pytest.mark.parametrize(
    "provider", PROVIDERS, ids=[provider.__name__ for provider in PROVIDERS]
)
def test_check_accepts_valid_inputs_for_every_field(
    provider: type[ResourceProvider],
) -> None:
    inputs = valid_inputs(provider.__name__)

    assert sorted(inputs) == sorted(input_names(provider))
    assert failures(provider, {}, inputs) == {}


@pytest.mark.parametrize("preview", ["create", "update"])
@pytest.mark.parametrize(
    ("provider", "name"),
    CASES,
    ids=[f"{provider.__name__}-{name}" for provider, name in CASES],
)
def test_check_accepts_unknown_input(
    provider: type[ResourceProvider], name: str, preview: str
) -> None:
    inputs = valid_inputs(provider.__name__)
    olds = inputs if preview == "update" else {}

    for unknown in unknown_variants(inputs[name]):
        assert failures(provider, olds, {**inputs, name: unknown}) == {}, unknown


@pytest.mark.parametrize("preview", ["create", "update"])
@pytest.mark.parametrize(
    "provider", PROVIDERS, ids=[provider.__name__ for provider in PROVIDERS]
)
def test_check_accepts_every_input_unknown_at_once(
    provider: type[ResourceProvider], preview: str
) -> None:
    inputs = valid_inputs(provider.__name__)
    olds = inputs if preview == "update" else {}

    assert failures(provider, olds, dict.fromkeys(inputs, UNKNOWN)) == {}
