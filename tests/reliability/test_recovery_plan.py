"""python -m recovery's decisions, on stubbed AWS answers and exported states."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from recovery.__main__ import main, pending_creates, recorded_ids
from recovery.plan import PendingCreate, RecoveryPlan, plan_recovery
from rehearsal.engine.pending import pending_warning
from rehearsal.engine.state import ResourceRecord, Workdir

STACK = "urn:pulumi:prod::fips-keystore::"
CLUSTER_URN = STACK + "aws:cloudhsmv2/cluster:Cluster::cluster-cluster"
SIGNING_URN = STACK + "pulumi-python:dynamic:ClusterCsrSigning::cluster-csr-signing"
CLUSTER_INPUTS = {
    "hsmType": "hsm2m.medium",
    "subnetIds": ["subnet-b", "subnet-a"],
    "tags": {"fips-keystore:stack": "prod"},
}


class StubCloudHsm:
    """describe_clusters and list_tags answering from a list of clusters."""

    def __init__(self, clusters: list[dict[str, Any]]) -> None:
        self.clusters = clusters

    def describe_clusters(self, **_: Any) -> dict[str, Any]:
        return {"Clusters": self.clusters}

    def list_tags(self, ResourceId: str) -> dict[str, Any]:  # noqa: N803
        cluster = next(c for c in self.clusters if c["ClusterId"] == ResourceId)
        return {"TagList": cluster["Tags"]}


def cluster(cluster_id: str, stack: str = "prod", state: str = "UNINITIALIZED") -> dict:
    return {
        "ClusterId": cluster_id,
        "State": state,
        "HsmType": "hsm2m.medium",
        "SubnetMapping": {"us-east-1a": "subnet-a", "us-east-1b": "subnet-b"},
        "Tags": [{"Key": "fips-keystore:stack", "Value": stack}],
    }


def plan_with(
    clusters: list[dict[str, Any]], recorded: Collection[str] = ()
) -> RecoveryPlan:
    stub = StubCloudHsm(clusters)
    pending = [
        PendingCreate(CLUSTER_URN, "aws:cloudhsmv2/cluster:Cluster", CLUSTER_INPUTS)
    ]
    return plan_recovery(pending, recorded, client=lambda _service: stub)


def test_plan_imports_the_one_cluster_tagged_for_the_stack() -> None:
    plan = plan_with([cluster("cluster-dev", stack="dev"), cluster("cluster-new")])

    assert plan.imports == {CLUSTER_URN: "cluster-new"}
    assert plan.complete


def test_plan_with_two_matching_clusters_asks_a_person() -> None:
    plan = plan_with([cluster("cluster-one"), cluster("cluster-two")])

    assert plan.imports == {}
    assert plan.unresolved[CLUSTER_URN].startswith(
        "2 candidates in AWS (cluster-one, cluster-two) match "
        "aws:cloudhsmv2/cluster:Cluster cluster-cluster"
    )
    assert not plan.complete


def test_plan_never_imports_a_cluster_the_state_records() -> None:
    plan = plan_with([cluster("cluster-old")], recorded={"cluster-old"})

    assert plan.imports == {}
    assert plan.cleared == {CLUSTER_URN: "not in AWS: the create never happened"}


def test_plan_ignores_deleted_clusters() -> None:
    plan = plan_with([cluster("cluster-gone", state="DELETED")])

    assert CLUSTER_URN in plan.cleared


def test_plan_clears_dynamic_and_reports_unknown_types() -> None:
    instance_urn = STACK + "aws:ec2/instance:Instance::cluster-admin-instance"
    pending = [
        PendingCreate(SIGNING_URN, "pulumi-python:dynamic:ClusterCsrSigning", {}),
        PendingCreate(instance_urn, "aws:ec2/instance:Instance", {}),
    ]

    plan = plan_recovery(pending, set(), client=lambda _service: None)

    assert plan.cleared == {
        SIGNING_URN: "dynamic resource: the next `pulumi up` adopts it"
    }
    assert plan.unresolved[instance_urn].startswith(
        "aws:ec2/instance:Instance cluster-admin-instance is not looked for"
    )


def test_refresh_command_pairs_each_urn_with_its_id() -> None:
    plan = plan_with([cluster("cluster-new")])
    plan.cleared[SIGNING_URN] = "dynamic"

    assert plan.refresh_command("prod") == [
        "pulumi", "refresh", "--stack", "prod", "--yes", "--skip-preview",
        "--import-pending-creates", CLUSTER_URN,
        "--import-pending-creates", "cluster-new",
        "--clear-pending-creates",
    ]  # fmt: skip


def test_export_parsing_reads_pending_creates_and_recorded_ids() -> None:
    document = {
        "deployment": {
            "resources": [{"urn": "u1", "id": "cluster-old"}, {"urn": "u2"}],
            "pending_operations": [
                {"type": "creating", "resource": {"urn": CLUSTER_URN,
                 "type": "aws:cloudhsmv2/cluster:Cluster", "inputs": CLUSTER_INPUTS}},
                {"type": "updating", "resource": {"urn": "u1", "type": "t"}},
            ],
        }
    }  # fmt: skip

    assert pending_creates(document) == [
        PendingCreate(CLUSTER_URN, "aws:cloudhsmv2/cluster:Cluster", CLUSTER_INPUTS)
    ]
    assert recorded_ids(document) == {"cluster-old"}


def test_main_with_state_not_json_exits_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    state.write_text("not json")

    assert main(["--stack", "prod", "--state", str(state)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"recovery: {state} is not JSON")
    assert "pulumi stack export" in error


def test_main_with_state_not_an_object_exits_2_saying_what_to_give(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    state.write_text("[]")

    assert main(["--stack", "prod", "--state", str(state)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"recovery: {state} holds a JSON list, not a")
    assert "give the unmodified output of `pulumi stack export`" in error


def test_main_with_a_missing_state_file_exits_2_saying_how_to_write_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "absent.json"

    assert main(["--stack", "prod", "--state", str(state)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"recovery: cannot read --state {state}")
    assert f"`pulumi stack export --stack prod > {state}`" in error


def test_main_with_an_object_that_is_no_export_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    state.write_text("{}")

    assert main(["--stack", "prod", "--state", str(state)]) == 2
    assert "has no deployment section" in capsys.readouterr().err


def test_main_without_pending_creates_says_to_run_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"deployment": {"resources": []}}))

    assert main(["--stack", "prod", "--state", str(state)]) == 0
    assert "no pending creates: run `pulumi up`" in capsys.readouterr().out


def test_pending_warning_names_each_interrupted_create(tmp_path: Path) -> None:
    workdir = Workdir(tmp_path)
    assert pending_warning(workdir) is None

    workdir.begin_create(
        ResourceRecord(CLUSTER_URN, "aws:cloudhsmv2/cluster:Cluster", "c")
    )
    warning = pending_warning(workdir)

    assert warning is not None
    assert warning.startswith(
        "warning: Attempting to deploy or update resources with 1 pending operations"
    )
    assert f"* {CLUSTER_URN}, interrupted while creating" in warning
    assert "--step recover" in warning


def test_main_without_aws_access_exits_2_saying_what_to_check(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = tmp_path / "state.json"
    pending = {
        "type": "creating",
        "resource": {
            "urn": CLUSTER_URN,
            "type": "aws:cloudhsmv2/cluster:Cluster",
            "inputs": CLUSTER_INPUTS,
        },
    }
    state.write_text(json.dumps({"deployment": {"pending_operations": [pending]}}))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")

    assert main(["--stack", "prod", "--state", str(state)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("recovery: AWS refused a read (")
    assert "AWS_PROFILE, AWS_REGION" in error
