"""The destroy check counts only what the stack itself left billed by the hour."""

from __future__ import annotations

import boto3
import pytest

from providers.waiting import SystemClock
from rehearsal.emulator import Emulator
from rehearsal.engine import checks
from rehearsal.engine.aws_adapter import AwsContext
from rehearsal.engine.checks import KEY_STORE_OUTPUTS
from rehearsal.engine.state import ResourceRecord

INSTANCE = "aws:ec2/instance:Instance"


class _Silent:
    def info(self, msg: str) -> None:
        pass


def _instance(ec2: object) -> str:
    image = ec2.describe_images()["Images"] or [{"ImageId": "ami-12c6146b"}]  # type: ignore[attr-defined]
    reply = ec2.run_instances(  # type: ignore[attr-defined]
        ImageId=image[0]["ImageId"], MinCount=1, MaxCount=1, InstanceType="t3.micro"
    )
    return str(reply["Instances"][0]["InstanceId"])


def _record(instance_id: str, external: bool = False) -> ResourceRecord:
    return ResourceRecord(
        urn=f"urn:pulumi:test::fips-keystore::{INSTANCE}::{instance_id}",
        type=INSTANCE,
        name=instance_id,
        id=instance_id,
        external=external,
    )


@pytest.fixture
def context(emulator: Emulator) -> AwsContext:
    return AwsContext(emulator.env(), SystemClock(), _Silent())


def test_hourly_charges_check_names_the_stacks_running_instance(
    context: AwsContext,
) -> None:
    ec2 = boto3.client("ec2")
    ours, theirs = _instance(ec2), _instance(ec2)

    result = checks.run_checks(checks.hourly_charges_check(context, [_record(ours)]))

    verdict = result["no_hourly_charges_left"]
    assert verdict.startswith("fail: still billed by the hour after destroy")
    assert f"instance {ours}" in verdict
    assert theirs not in verdict


def test_hourly_charges_check_ignores_other_stacks_and_adopted_resources(
    context: AwsContext,
) -> None:
    ec2 = boto3.client("ec2")
    ours, adopted = _instance(ec2), _instance(ec2)
    _instance(ec2)
    ec2.terminate_instances(InstanceIds=[ours])

    records = [_record(ours), _record(adopted, external=True)]
    result = checks.run_checks(checks.hourly_charges_check(context, records))

    assert result["no_hourly_charges_left"] == checks.PASS


def test_deployment_checks_without_key_store_leave_out_key_and_its_outputs(
    context: AwsContext,
) -> None:
    from components.stack import OUTPUT_NAMES

    outputs = {name: "x" for name in OUTPUT_NAMES if name not in KEY_STORE_OUTPUTS}

    found = checks.deployment_checks(
        context, outputs, OUTPUT_NAMES, 1, "kmsuser", SystemClock(), key_store=False
    )

    assert set(found) == {
        "outputs_present",
        "cluster_active_with_hsms",
        "crypto_user_full_coverage",
    }
    assert checks.run_checks({"outputs_present": found["outputs_present"]}) == {
        "outputs_present": checks.PASS
    }
