"""Invalid stack configs run through the rehearsal engine: each fails before
anything is created, naming the key and what it allows, and the emulator saw no
call that changes anything. The session's shared emulator and one dynamic
provider server serve the whole table, since no case leaves anything behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pulumi
import pytest
import yaml

from providers.waiting import HttpClock
from rehearsal.emulator import Emulator
from rehearsal.engine.aws_adapter import AwsAdapter
from rehearsal.engine.cli import PROJECT_DIR
from rehearsal.engine.config import load_config_file
from rehearsal.engine.console import Console
from rehearsal.engine.dynamic_client import DynamicProviderServer
from rehearsal.engine.emulator_link import EmulatorLink
from rehearsal.engine.program import (
    Evaluation,
    ResourceApplier,
    evaluate,
    main_program,
)
from rehearsal.engine.state import Workdir
from tests.program.test_stack_config import BAD_CONFIGS, CA_PEM, SUBNETS
from tests.rehearsal.rehearsal_capture import SharedEmulator

# Operations that only read: anything else recorded during a case changed AWS.
READ_ONLY_PREFIXES = ("Describe", "Get", "List")

# The cases the issue names, beside the config-level table reused below.
NAMED_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "one-subnet",
        {"vpcId": "vpc-0abc1234", "subnetIds": ["subnet-0aaa1111"]},
        "subnetIds",
        "at least 2 subnets in distinct availability zones",
    ),
    (
        "subnets-not-found",
        {"vpcId": "vpc-0abc1234", "subnetIds": ["subnet-0aaa1111", "subnet-0bbb2222"]},
        "subnetIds",
        "subnet-0aaa1111, which AWS could not find in this account and Region",
    ),
    ("hsm-count-1-with-key-store", {"hsmCount": 1}, "hsmCount", "2 to 6 when"),
    ("unknown-hsm-type", {"hsmType": "hsm3.large"}, "hsmType", "one of hsm2m.medium"),
    (
        "deletion-window-31",
        {"keyDeletionWindowDays": 31},
        "keyDeletionWindowDays",
        "from 7 to 30",
    ),
    ("ca-1024-bits", {"caKeyBits": 1024}, "caKeyBits", "one of 2048, 4096"),
    (
        "ca-certificate-without-key",
        {"caCertificate": CA_PEM},
        "caPrivateKey",
        "given both or neither",
    ),
]
TABLE_CASES = [
    (f"table-{index}-{key}", values, key, allowed)
    for index, (values, key, allowed) in enumerate(BAD_CONFIGS)
]


@dataclass
class Engine:
    """The engine's pieces, bound to one emulator for the whole table."""

    emulator: Emulator
    adapter: AwsAdapter
    dynamic: DynamicProviderServer
    console: Console
    link: EmulatorLink
    config_dir: Path

    def up(self, name: str, values: dict[str, Any]) -> tuple[Evaluation, list[str]]:
        """Run the program once on `values`; return it and the calls it made."""
        config_file = self.config_dir / f"{name}.yaml"
        document = {"aws:region": "us-east-1"}
        document.update({f"fips-keystore:{k}": v for k, v in values.items()})
        config_file.write_text(yaml.safe_dump({"config": document}))
        config = load_config_file(config_file, PROJECT_DIR)

        before = len(self.emulator.calls.all())
        workdir = Workdir(self.config_dir / name)
        applier = ResourceApplier(
            self.adapter, self.dynamic, self.link, workdir, {}, self.console
        )
        evaluation = evaluate(applier, config, main_program(PROJECT_DIR))
        calls = self.emulator.calls.all()[before:]
        return evaluation, [f"{c.service}:{c.operation}" for c in calls]


@pytest.fixture(scope="module")
def engine(
    tmp_path_factory: pytest.TempPathFactory, shared_emulator: SharedEmulator
) -> Iterator[Engine]:
    workdir = tmp_path_factory.mktemp("bad-input")
    emulator, link = shared_emulator.emulator, shared_emulator.link
    link.set_faults({})
    env = link.env()
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    dynamic = DynamicProviderServer(env, PROJECT_DIR, print)
    dynamic.start()
    console = Console(link)
    adapter = AwsAdapter(env, HttpClock(env["FIPS_KEYSTORE_CLOCK_URL"]), pulumi.log)
    try:
        yield Engine(emulator, adapter, dynamic, console, link, workdir)
    finally:
        dynamic.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def assert_refused_before_anything(
    evaluation: Evaluation, calls: list[str], key: str, allowed: str
) -> None:
    assert evaluation.error is not None
    assert key in evaluation.error
    assert allowed in evaluation.error
    created = [r.name for r in evaluation.records.values() if r.custom]
    assert created == []
    changing = [c for c in calls if not c.split(":")[1].startswith(READ_ONLY_PREFIXES)]
    assert changing == []


@pytest.mark.parametrize(
    ("name", "values", "key", "allowed"),
    NAMED_CASES + TABLE_CASES,
    ids=[case[0] for case in NAMED_CASES + TABLE_CASES],
)
def test_up_with_bad_config_fails_before_creating_anything(
    engine: Engine, name: str, values: dict[str, Any], key: str, allowed: str
) -> None:
    evaluation, calls = engine.up(name, values)

    assert_refused_before_anything(evaluation, calls, key, allowed)


def test_up_with_bad_config_says_to_edit_the_rehearsal_config_file(
    engine: Engine,
) -> None:
    evaluation, _ = engine.up("edit-the-file", {"hsmCount": 1})

    assert evaluation.error is not None
    assert evaluation.error.endswith(
        f"In a rehearsal, set the keys (as fips-keystore:<key>) in "
        f"{engine.config_dir / 'edit-the-file.yaml'} instead of running "
        "`pulumi config set`."
    )


def test_up_with_two_subnets_in_one_zone_fails_before_creating_anything(
    engine: Engine,
) -> None:
    ec2 = boto3.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet_ids = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone="us-east-1a")[
            "Subnet"
        ]["SubnetId"]
        for cidr in ("10.9.1.0/24", "10.9.2.0/24")
    ]

    evaluation, calls = engine.up(
        "same-zone", {"vpcId": vpc_id, "subnetIds": subnet_ids}
    )

    assert_refused_before_anything(
        evaluation, calls, "subnetIds", "both in availability zone us-east-1a"
    )


def test_table_holds_at_least_25_cases() -> None:
    assert len(NAMED_CASES + TABLE_CASES) >= 25
    assert SUBNETS
