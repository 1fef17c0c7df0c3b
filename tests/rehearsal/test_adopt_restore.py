"""Stacks that restore a backup or adopt a cluster, rehearsed in one emulated account.

The dev stack goes up and is destroyed (CloudHSM keeps a backup, with `kmsuser`
whose password KMS rotated); a second stack restores that backup; a third adopts
a cluster made by hand from the same backup; a fourth names the dev stack's
deleted cluster and must fail before creating anything. Fast profile.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from rehearsal.engine.cli import main
from rehearsal.engine.config import load_config_file
from rehearsal.engine.emulator_link import InProcessEmulator
from rehearsal.engine.runner import Rehearsal, RehearsalOptions
from rehearsal.engine.state import Workdir
from tests.emulator._cloudhsm_setup import make_test_ca

PROJECT_DIR = Path(__file__).resolve().parents[2]
PASSED_CHECKS = {
    "up",
    "outputs_present",
    "key_encrypts_and_decrypts",
    "cluster_active_with_hsms",
    "crypto_user_full_coverage",
    "key_store_connected",
}


@dataclass
class Account:
    """One emulated account shared by the stacks, and what each run reported."""

    emulator: InProcessEmulator
    root: Path
    secrets: dict[str, str]
    reports: dict[str, dict[str, Any]]

    def client(self, service: str) -> Any:
        env = self.emulator.link.env()
        return boto3.client(
            service,
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name=env["AWS_REGION"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def config_file(self, stack: str, **values: Any) -> Path:
        """`Pulumi.<stack>.yaml`: the dev stack's config, the secrets, `values`
        (a value of None leaves that key out)."""
        path = self.root / f"Pulumi.{stack}.yaml"
        if not path.exists():
            dev = yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())
            config = {
                **dev["config"],
                **{f"fips-keystore:{k}": v for k, v in self.secrets.items()},
                **{f"fips-keystore:{k}": v for k, v in values.items()},
            }
            config = {key: value for key, value in config.items() if value is not None}
            path.write_text(yaml.safe_dump({"config": config}))
        return path

    def rehearse(self, stack: str, step: str, **values: Any) -> dict[str, Any]:
        """Run one step of `stack` with the dev stack's config plus `values`."""
        config_file = self.config_file(stack, **values)
        workdir = self.root / stack
        options = RehearsalOptions(
            project_dir=PROJECT_DIR,
            config=load_config_file(config_file, PROJECT_DIR),
            workdir=workdir,
            report_path=workdir / f"{step}.json",
            step=step,
            emulator=self.emulator,
        )
        Rehearsal(options).run()
        report = json.loads(options.report_path.read_text())
        self.reports[f"{stack}-{step}"] = report
        return report

    def cluster(self, cluster_id: str) -> dict[str, Any]:
        clusters = self.client("cloudhsmv2").describe_clusters(
            Filters={"clusterIds": [cluster_id]}
        )["Clusters"]
        return dict(clusters[0])


def stack_secrets() -> dict[str, str]:
    ca = make_test_ca("fips-keystore restore test CA")
    key_pem = ca.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "adminPassword": "Adm1nPassw0rd",
        "kmsuserPassword": "Kmsus3rPassw0rd",
        "caCertificate": ca.pem,
        "caPrivateKey": key_pem,
    }


def hand_made_cluster(account: Account, backup_id: str) -> tuple[str, list[str], str]:
    """A VPC, two subnets and a cluster restored from `backup_id`, with no HSM."""
    ec2 = account.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnet_ids = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=zone)[
            "Subnet"
        ]["SubnetId"]
        for cidr, zone in (
            ("10.30.1.0/24", "us-east-1a"),
            ("10.30.2.0/24", "us-east-1b"),
        )
    ]
    cluster_id = account.client("cloudhsmv2").create_cluster(
        HsmType="hsm2m.medium",
        SubnetIds=subnet_ids,
        SourceBackupId=backup_id,
        Mode="FIPS",
    )["Cluster"]["ClusterId"]
    account.emulator.link.advance(60)
    return vpc_id, subnet_ids, cluster_id


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    root = tmp_path_factory.mktemp("account")
    emulator = InProcessEmulator("fast", root / "account", "us-east-1")
    try:
        yield Account(emulator, root, stack_secrets(), {})
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def dev_backup(account: Account) -> tuple[str, str]:
    """The dev stack up then destroyed: its cluster id and the backup AWS kept."""
    up = account.rehearse("dev", "up")
    assert up["error"] is None, up["error"]
    cluster_id = up["outputs"]["clusterId"]

    destroyed = account.rehearse("dev", "destroy")
    assert destroyed["error"] is None, destroyed["error"]
    backups = account.client("cloudhsmv2").describe_backups(
        Filters={"clusterIds": [cluster_id]}
    )["Backups"]
    assert len(backups) == 1
    return cluster_id, backups[0]["BackupId"]


@pytest.fixture(scope="module")
def adopted(account: Account, dev_backup: tuple[str, str]) -> dict[str, Any]:
    """An ACTIVE cluster made by hand adopted, then the stack destroyed.

    The test then deletes the cluster by hand: a cluster sharing its backup
    history with one that backs a key store cannot back another.
    """
    _, backup_id = dev_backup
    vpc_id, subnet_ids, cluster_id = hand_made_cluster(account, backup_id)
    # As the README says: an ACTIVE cluster needs only its trust anchor, no key.
    up = account.rehearse(
        "adopted",
        "up",
        clusterId=cluster_id,
        vpcId=vpc_id,
        subnetIds=subnet_ids,
        caPrivateKey=None,
    )
    destroyed = account.rehearse("adopted", "destroy")
    left = account.cluster(cluster_id)

    account.client("cloudhsmv2").delete_cluster(ClusterId=cluster_id)
    account.emulator.link.advance(60)
    return {"cluster_id": cluster_id, "up": up, "destroy": destroyed, "left": left}


@pytest.fixture(scope="module")
def restored(
    account: Account, dev_backup: tuple[str, str], adopted: dict[str, Any]
) -> dict[str, Any]:
    _, backup_id = dev_backup
    return account.rehearse(
        "restored", "up", sourceBackupId=backup_id, caPrivateKey=None
    )


def test_adopt_active_cluster_passes_every_check(adopted: dict[str, Any]) -> None:
    up = adopted["up"]

    assert up["error"] is None
    assert up["checks"] == dict.fromkeys(PASSED_CHECKS, "pass")
    assert up["outputs"]["clusterId"] == adopted["cluster_id"]


def test_adopt_active_cluster_reads_it_and_creates_no_cluster(
    adopted: dict[str, Any],
) -> None:
    operations = {r["name"]: r["operation"] for r in adopted["up"]["resources"]}

    assert operations["cluster-cluster"] == "read"
    assert "cluster-initialization" not in operations
    assert "CreateCluster" not in adopted["up"]["api_calls"]["cloudhsmv2"]


def test_destroy_of_adopted_cluster_leaves_the_cluster_and_its_users(
    adopted: dict[str, Any],
) -> None:
    destroyed = adopted["destroy"]
    operations = {r["name"]: r["operation"] for r in destroyed["resources"]}

    assert destroyed["error"] is None
    assert operations["cluster-cluster"] == "discard"
    assert operations["cluster-kmsuser"] == "retain"
    assert operations["cluster-hsm-0"] == "delete"
    assert adopted["left"]["State"] == "ACTIVE"
    assert adopted["left"]["Hsms"] == []
    assert "DeleteCluster" not in destroyed["api_calls"].get("cloudhsmv2", {})


def test_restore_from_dev_backup_passes_every_check(restored: dict[str, Any]) -> None:
    assert restored["error"] is None
    assert restored["checks"] == dict.fromkeys(PASSED_CHECKS, "pass")


def test_restore_from_dev_backup_skips_signing_and_initialization(
    restored: dict[str, Any],
) -> None:
    created = {r["name"] for r in restored["resources"] if r["operation"] == "create"}

    assert "cluster-cluster" in created
    assert "cluster-csr-signing" not in created
    assert "cluster-initialization" not in created
    assert "InitializeCluster" not in restored["api_calls"]["cloudhsmv2"]


def test_restore_from_dev_backup_sets_the_rotated_kmsuser_password(
    restored: dict[str, Any],
) -> None:
    operations = {r["name"]: r["operation"] for r in restored["resources"]}

    assert operations["key-store-kmsuser-password"] == "create"
    assert restored["checks"]["key_store_connected"] == "pass"


def test_adopt_deleted_cluster_fails_before_creating_anything(
    account: Account, dev_backup: tuple[str, str], adopted: dict[str, Any]
) -> None:
    deleted_cluster_id, _ = dev_backup
    network = adopted["left"]
    config_file = account.config_file(
        "refused",
        clusterId=deleted_cluster_id,
        vpcId=network["VpcId"],
        subnetIds=sorted(network["SubnetMapping"].values()),
    )
    workdir = account.root / "refused"

    exit_code = main(
        ["--config-file", str(config_file), "--step", "up", "--workdir", str(workdir)]
        + ["--emulator-url", account.emulator.link.url]
    )

    report = json.loads((workdir / "report.json").read_text())
    assert exit_code == 1
    assert f"clusterId {deleted_cluster_id} is in state DELETED" in report["error"]
    assert "sourceBackupId" in report["error"]
    changing = [
        f"{service}:{operation}"
        for service, operations in report["api_calls"].items()
        for operation in operations
        if not operation.startswith(("Describe", "Get", "List"))
    ]
    assert changing == []
    records = Workdir(workdir).load_all().values()
    assert not [r.name for r in records if r.custom]


def test_emulator_url_without_an_emulator_fails_saying_how_to_start_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code = main(
        ["--stack", "dev", "--workdir", str(tmp_path)]
        + ["--emulator-url", "http://127.0.0.1:9"]
    )

    assert exit_code == 2
    assert "no emulator answers at http://127.0.0.1:9" in capsys.readouterr().err
    assert (
        "python -m rehearsal.emulator --port N"
        in json.loads((tmp_path / "report.json").read_text())["error"]
    )
