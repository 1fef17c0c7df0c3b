"""BackupRetention when ModifyCluster refuses: the project's error, with advice."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from providers import backup_retention
from providers.backup_retention import BackupRetentionProvider
from providers.errors import ClusterStateError
from tests.providers.conftest import Chain

MISSING_CLUSTER = "cluster-zzzzzzzzzzz"


def test_create_wraps_modify_cluster_refusal_with_code_and_next_step(
    new_cluster: Chain,
) -> None:
    # 380 days passes no check() here; AWS (and the emulator) refuse it.
    inputs = {"cluster_id": new_cluster.cluster_id, "days": 380}

    with pytest.raises(ClusterStateError) as raised:
        BackupRetentionProvider().create(inputs)

    message = str(raised.value)
    assert message.startswith(
        "ModifyCluster refused a backup retention of 380 days for CloudHSM cluster "
        f"{new_cluster.cluster_id}: CloudHsmInvalidRequestException: "
        "BackupRetentionPolicy "
    )
    assert "use Type DAYS and a Value from 7 to 379." in message
    assert message.endswith(
        f"Check the cluster with `aws cloudhsmv2 describe-clusters --filters "
        f"clusterIds={new_cluster.cluster_id}` and backupRetentionDays (7 to 379), "
        "fix what AWS names, then run `pulumi up` again."
    )
    assert str(new_cluster.describe()["BackupRetentionPolicy"]["Value"]) == "90"


def test_update_on_cluster_deleted_after_describe_names_the_aws_error(
    new_cluster: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cluster goes between DescribeClusters and ModifyCluster.
    monkeypatch.setattr(backup_retention, "require_cluster", lambda *_: None)
    olds = {"cluster_id": MISSING_CLUSTER, "days": 30}

    with pytest.raises(ClusterStateError) as raised:
        BackupRetentionProvider().update("x", olds, {**olds, "days": 60})

    message = str(raised.value)
    assert message.startswith(
        "ModifyCluster refused a backup retention of 60 days for CloudHSM cluster "
        f"{MISSING_CLUSTER}: CloudHsmResourceNotFoundException: Cluster "
        f"{MISSING_CLUSTER} not found in this account and Region."
    )
    assert "then run `pulumi up` again." in message
    assert isinstance(raised.value.__cause__, ClientError)
