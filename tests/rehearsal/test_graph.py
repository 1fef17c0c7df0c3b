"""Dependency order and the critical path over recorded resources."""

import pytest

from rehearsal.engine.graph import DependencyGraph, profile_seconds
from rehearsal.engine.state import ResourceRecord

PROFILE = {
    "cluster_create": 2.0,
    "hsm_create": 3.0,
    "cluster_initialize": 2.0,
    "instance_ssm_online": 2.0,
    "client_install": 1.0,
    "key_store_connect": 3.0,
}


def record(
    name: str,
    type_: str,
    needs: tuple[str, ...] = (),
    provider_module: str = "",
    parent: str = "",
) -> ResourceRecord:
    return ResourceRecord(
        urn=name,
        type=type_,
        name=name,
        dependencies=list(needs),
        provider_module=provider_module,
        parent=parent,
    )


def stack() -> dict[str, ResourceRecord]:
    dynamic = "pulumi-python:dynamic:Resource"
    records = [
        record("vpc", "aws:ec2/vpc:Vpc"),
        record("cluster", "aws:cloudhsmv2/cluster:Cluster", ("vpc",)),
        record("hsm-1", "aws:cloudhsmv2/hsm:Hsm", ("cluster",)),
        record("instance", "aws:ec2/instance:Instance", ("vpc",)),
        record(
            "init",
            dynamic,
            ("hsm-1",),
            provider_module="providers.cluster_initialization",
        ),
        record("hsm-2", "aws:cloudhsmv2/hsm:Hsm", ("init", "instance")),
        record(
            "connect",
            dynamic,
            ("hsm-2",),
            provider_module="providers.key_store_connection",
        ),
    ]
    return {r.urn: r for r in records}


def test_creation_order_puts_each_resource_after_its_needs() -> None:
    order = DependencyGraph(stack()).creation_order()

    for urn, record_ in stack().items():
        for need in record_.dependencies:
            assert order.index(need) < order.index(urn)


def test_destroy_order_reverses_creation() -> None:
    graph = DependencyGraph(stack())

    assert graph.destroy_order() == list(reversed(graph.creation_order()))
    assert graph.destroy_order()[0] == "connect"


def test_dependents_lists_who_needs_a_resource() -> None:
    assert DependencyGraph(stack()).dependents("vpc") == {"cluster", "instance"}


def test_critical_path_sums_profile_operations_on_longest_chain() -> None:
    records = stack()
    seconds = profile_seconds(records.values(), PROFILE)

    path = DependencyGraph(records).critical_path(seconds)

    assert path.seconds == 2 + 3 + 2 + 3 + 3
    assert path.urns == ("vpc", "cluster", "hsm-1", "init", "hsm-2", "connect")


def test_profile_seconds_counts_instance_online_and_client_install() -> None:
    seconds = profile_seconds(stack().values(), PROFILE)

    assert seconds["instance"] == 3.0
    assert seconds["vpc"] == 0.0


def test_parent_orders_like_a_dependency() -> None:
    records = {
        "child": record("child", "aws:ec2/vpc:Vpc", parent="component"),
        "component": ResourceRecord(
            urn="component", type="x:y:Z", name="c", custom=False
        ),
    }

    assert DependencyGraph(records).creation_order() == ["component", "child"]


def test_creation_order_with_cycle_fails_naming_resources() -> None:
    records = {
        "a": record("a", "aws:ec2/vpc:Vpc", ("b",)),
        "b": record("b", "aws:ec2/vpc:Vpc", ("a",)),
    }

    with pytest.raises(ValueError, match="dependency cycle among a, b"):
        DependencyGraph(records).creation_order()
