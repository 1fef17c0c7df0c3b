"""Adopting a cluster (`clusterId`) and restoring a backup, under Pulumi mocks."""

from __future__ import annotations

from typing import Any

import pytest

from components.cluster_adoption import ClusterAdoptionError
from stack_config import ConfigError, StackConfig, load_stack_config
from tests.program.mocks import (
    FAKE_KEY,
    FAKE_PEM,
    GIVEN_VPC_ID,
    CloudMocks,
    Evaluation,
    evaluate,
)

CLUSTER_ID = "cluster-abcdefghijk"
SUBNETS = ["subnet-0aaa1111", "subnet-0bbb2222"]
REFUSED = (
    ("CREATE_IN_PROGRESS", "wait until it is UNINITIALIZED"),
    ("INITIALIZE_IN_PROGRESS", "wait until it is INITIALIZED"),
    ("INITIALIZED", "cloudhsm-cli cluster activate"),
    ("UPDATE_IN_PROGRESS", "wait until the update ends"),
    ("DEGRADED", "restore a backup"),
    ("DELETE_IN_PROGRESS", "pulumi config set sourceBackupId"),
    ("DELETED", "pulumi config set sourceBackupId"),
)


def adopting(**values: Any) -> StackConfig:
    return load_stack_config(
        {
            "clusterId": CLUSTER_ID,
            "adminPassword": "Adm1nPassw0rd",
            "vpcId": GIVEN_VPC_ID,
            "subnetIds": SUBNETS,
            **values,
        },
        stack="test",
    )


def adopt(state: str, csr: str | None = None, **values: Any) -> Evaluation:
    mocks = CloudMocks(cluster_state=state, cluster_csr=csr)
    return evaluate(adopting(**values), mocks)


def restoring() -> StackConfig:
    return load_stack_config(
        {
            "sourceBackupId": "backup-abcdefghijk",
            "adminPassword": "Adm1nPassw0rd",
            "caCertificate": FAKE_PEM,
        },
        stack="test",
    )


@pytest.mark.parametrize(("state", "next_step"), REFUSED, ids=[s for s, _ in REFUSED])
def test_build_refuses_to_adopt_a_cluster_in_state(state: str, next_step: str) -> None:
    with pytest.raises(ClusterAdoptionError) as caught:
        adopt(state, caCertificate=FAKE_PEM)

    message = str(caught.value)
    assert f"clusterId {CLUSTER_ID} is in state {state}" in message
    assert "Nothing was created" in message
    assert next_step in message


def test_build_adopts_an_uninitialized_cluster_like_a_new_one() -> None:
    evaluation = adopt("UNINITIALIZED")

    assert evaluation.registrations["cluster-cluster"].read is True
    assert evaluation.depends_on("cluster-csr-signing", "cluster-cluster")
    assert evaluation.depends_on("cluster-activation", "cluster-initialization")
    assert "key-store-kmsuser-password" not in evaluation.registrations
    assert "caPrivateKey" in evaluation.outputs


def test_build_refuses_an_uninitialized_cluster_that_has_an_hsm() -> None:
    csr = (
        "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"
    )

    with pytest.raises(ClusterAdoptionError) as caught:
        adopt("UNINITIALIZED", csr=csr)

    assert "UNINITIALIZED and already has an HSM" in str(caught.value)
    assert f"delete-hsm --cluster-id {CLUSTER_ID}" in str(caught.value)


def test_build_refuses_an_uninitialized_cluster_without_the_ca_key() -> None:
    with pytest.raises(ClusterAdoptionError) as caught:
        adopt("UNINITIALIZED", caCertificate=FAKE_PEM)

    assert "caCertificate is set without caPrivateKey" in str(caught.value)
    assert "pulumi config set --secret caPrivateKey" in str(caught.value)


def test_build_refuses_an_active_cluster_without_its_trust_anchor() -> None:
    with pytest.raises(ClusterAdoptionError) as caught:
        adopt("ACTIVE")

    assert f"clusterId {CLUSTER_ID} is ACTIVE" in str(caught.value)
    assert "caCertificate is unset" in str(caught.value)


def test_load_with_cluster_id_refuses_a_ca_key_without_its_certificate() -> None:
    with pytest.raises(ConfigError) as caught:
        adopting(caPrivateKey=FAKE_KEY)

    assert "caCertificate = <unset>" in str(caught.value)
    assert "both or neither" in str(caught.value)


def test_build_adopts_an_active_cluster_without_signing_or_initializing() -> None:
    evaluation = adopt("ACTIVE", caCertificate=FAKE_PEM)

    assert "cluster-csr-signing" not in evaluation.registrations
    assert "cluster-initialization" not in evaluation.registrations
    assert evaluation.depends_on("cluster-kmsuser", "cluster-activation")


def test_build_keeps_the_crypto_user_of_an_adopted_cluster_on_destroy() -> None:
    adopted = adopt("ACTIVE", caCertificate=FAKE_PEM)
    restored = evaluate(restoring())

    assert adopted.options["cluster-kmsuser"].retain_on_delete is True
    assert not restored.options["cluster-kmsuser"].retain_on_delete


def test_build_sets_the_kmsuser_password_between_store_and_connection() -> None:
    for evaluation in (evaluate(restoring()), adopt("ACTIVE", caCertificate=FAKE_PEM)):
        password = "key-store-kmsuser-password"
        assert evaluation.depends_on(password, "key-store-store")
        assert evaluation.depends_on("key-store-connection", password)
        assert "password_secret_arn" in evaluation.inputs[password]


def test_build_of_a_new_cluster_leaves_the_kmsuser_password_alone() -> None:
    evaluation = evaluate(load_stack_config({}, stack="test"))

    assert "key-store-kmsuser-password" not in evaluation.registrations
    assert "cluster-cluster" in evaluation.registrations
    assert evaluation.registrations["cluster-cluster"].read is False
