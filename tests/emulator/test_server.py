"""The emulator's HTTP surface: moto behind our middleware, and the control routes."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from providers.waiting import HttpClock, wait_for
from rehearsal.emulator import (
    Emulator,
    EmulatorError,
    EmulatorRequest,
    json_error,
    query_error,
)
from rehearsal.emulator.__main__ import main, parse_arguments


def control(
    emulator: Emulator, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{emulator.url}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_describe_vpcs_through_emulator_reaches_moto(emulator: Emulator) -> None:
    ec2 = boto3.client("ec2")

    vpcs = ec2.describe_vpcs()["Vpcs"]

    assert [vpc["IsDefault"] for vpc in vpcs] == [True]
    assert emulator.calls.count_by_operation("ec2") == {"DescribeVpcs": 1}


def test_env_points_boto3_at_emulator(emulator: Emulator) -> None:
    env = emulator.env()

    assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{emulator.port}"
    assert env["FIPS_KEYSTORE_CLOCK_URL"] == f"{emulator.url}/_emulator/clock"
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"


def test_clock_get_reports_simulated_time(emulator: Emulator) -> None:
    emulator.clock.advance(42)

    status, body = control(emulator, "GET", "/_emulator/clock")

    assert status == 200
    assert body["now"] == 42


def test_clock_sleep_returns_after_simulated_seconds(emulator: Emulator) -> None:
    status, body = control(emulator, "POST", "/_emulator/clock/sleep", {"seconds": 90})

    assert status == 200
    assert body == {"now": 90}
    assert emulator.clock.now() == 90


def test_clock_waits_records_each_wait_the_http_clock_reports(
    emulator: Emulator,
) -> None:
    clock = HttpClock(emulator.env()["FIPS_KEYSTORE_CLOCK_URL"])
    finished_at = 300.0

    wait_for(
        lambda: "ACTIVE" if clock.now() >= finished_at else "CREATING",
        is_done=lambda state: state == "ACTIVE",
        resource="cluster-x",
        expected_seconds=300,
        timeout_seconds=3600,
        clock=clock,
        min_interval=1,
        log=_SilentLog(),
    )
    status, body = control(emulator, "GET", "/_emulator/clock/waits")

    assert status == 200
    (wait,) = body["waits"]
    assert (wait["resource"], wait["outcome"]) == ("cluster-x", "done")
    assert wait["at"] - finished_at <= wait["overhead_bound_seconds"] <= 1
    # Sleeps of at most a minute before the expected end, then tight polls near it.
    assert 1 < wait["polls"] <= 12


class _SilentLog:
    def info(self, msg: str) -> None:
        pass


def test_clock_advance_moves_clock(emulator: Emulator) -> None:
    status, body = control(
        emulator, "POST", "/_emulator/clock/advance", {"seconds": 30 * 86400}
    )

    assert (status, body) == (200, {"now": 30 * 86400})


def test_clock_advance_negative_refused(emulator: Emulator) -> None:
    status, body = control(
        emulator, "POST", "/_emulator/clock/advance", {"seconds": -1}
    )

    assert status == 400
    assert "time only moves forward" in body["error"]


def test_clock_sleep_without_seconds_refused(emulator: Emulator) -> None:
    status, body = control(emulator, "POST", "/_emulator/clock/sleep", {})

    assert status == 400
    assert body["error"] == "seconds must be a number of simulated seconds, got None"


def test_clock_participants_bad_delta_refused(emulator: Emulator) -> None:
    status, body = control(
        emulator, "POST", "/_emulator/clock/participants", {"delta": 2}
    )

    assert status == 400
    assert body["error"] == "participants delta must be 1 or -1, got 2"


def test_clock_sleep_route_serves_other_requests_meanwhile(
    emulator: Emulator,
) -> None:
    # Two participants: the first sleeper blocks until the second one sleeps.
    control(emulator, "POST", "/_emulator/clock/participants", {"delta": 1})
    control(emulator, "POST", "/_emulator/clock/participants", {"delta": 1})
    results: dict[str, Any] = {}
    sleeper = threading.Thread(
        target=lambda: results.update(
            long=control(emulator, "POST", "/_emulator/clock/sleep", {"seconds": 100})
        )
    )
    sleeper.start()

    status, now = control(emulator, "GET", "/_emulator/clock")
    short = control(emulator, "POST", "/_emulator/clock/sleep", {"seconds": 10})
    control(emulator, "POST", "/_emulator/clock/participants", {"delta": -1})
    sleeper.join(timeout=10)

    assert (status, now["now"]) == (200, 0)
    assert short == (200, {"now": 10})
    assert results["long"] == (200, {"now": 100})


def test_control_unknown_route_answers_404(emulator: Emulator) -> None:
    status, body = control(emulator, "GET", "/_emulator/nothing")

    assert (status, body) == (404, {"error": "no control route GET /_emulator/nothing"})


def test_register_operation_answers_before_moto(emulator: Emulator) -> None:
    def describe_vpcs(request: EmulatorRequest) -> Any:
        return json_error(400, "Refused", f"{request.operation} in {request.region}")

    emulator.register_operation("kms", "ListKeys", describe_vpcs)

    with pytest.raises(ClientError) as caught:
        boto3.client("kms").list_keys()

    assert caught.value.response["Error"]["Code"] == "Refused"
    assert caught.value.response["Error"]["Message"] == "ListKeys in us-east-1"


def test_register_operation_none_passes_to_moto(emulator: Emulator) -> None:
    seen: list[dict[str, Any]] = []

    def observe(request: EmulatorRequest) -> None:
        seen.append(request.params)

    emulator.register_operation("kms", "CreateKey", observe)

    key = boto3.client("kms").create_key(Description="rehearsal")["KeyMetadata"]

    assert seen == [{"Description": "rehearsal"}]
    assert key["Description"] == "rehearsal"


def test_register_operation_query_params_parsed(emulator: Emulator) -> None:
    seen: list[EmulatorRequest] = []

    def answer(request: EmulatorRequest) -> Any:
        seen.append(request)
        return query_error(400, "Refused", "not today", request.service)

    emulator.register_operation("ec2", "DescribeSubnets", answer)

    with pytest.raises(ClientError) as caught:
        boto3.client("ec2").describe_subnets(SubnetIds=["subnet-12345678"])

    assert seen[0].protocol == "query"
    assert seen[0].params["SubnetId.1"] == "subnet-12345678"
    assert caught.value.response["Error"]["Code"] == "Refused"


def test_register_route_outside_prefix_refused(emulator: Emulator) -> None:
    with pytest.raises(EmulatorError, match="must start with '/_emulator/'"):
        emulator.register_route("GET", "/clock", lambda payload: payload)


def test_emulator_unknown_profile_refused() -> None:
    with pytest.raises(EmulatorError, match="unknown timing profile 'slow'"):
        Emulator(profile="slow")


def vpc_cidrs(emulator: Emulator, create: str | None = None) -> list[str]:
    """The VPCs' CIDR blocks, after creating one with `create` if given."""
    ec2 = boto3.client(
        "ec2",
        endpoint_url=emulator.url,
        region_name=emulator.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    if create:
        ec2.create_vpc(CidrBlock=create)
    return [vpc["CidrBlock"] for vpc in ec2.describe_vpcs()["Vpcs"]]


def test_start_forgets_previous_moto_state(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, no_real_aws: None
) -> None:
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with Emulator(workdir=tmp_path) as first:
        before = vpc_cidrs(first, create="10.8.0.0/16")

    with Emulator(workdir=tmp_path) as second:
        after = vpc_cidrs(second)

    assert "10.8.0.0/16" in before
    assert "10.8.0.0/16" not in after
    assert len(after) == 1


def test_main_bad_faults_exits_with_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["--faults", "throttle=lots"])

    assert code == 2
    assert capsys.readouterr().err.startswith(
        "--faults: bad throttle=lots probability 'lots'"
    )


def test_parse_arguments_reads_port_profile_and_faults() -> None:
    arguments = parse_arguments(
        ["--port", "4566", "--profile", "realistic", "--faults", "ssm=fail"]
    )

    assert (arguments.port, arguments.profile, arguments.faults) == (
        4566,
        "realistic",
        "ssm=fail",
    )


def test_emulator_given_a_relative_workdir_keeps_it_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Instance scripts run inside their sandbox, where a relative path breaks.
    monkeypatch.chdir(tmp_path)

    emulator = Emulator("fast", Path("build") / "emulator")

    assert emulator.workdir == tmp_path / "build" / "emulator"
    assert emulator.workdir.is_dir()
