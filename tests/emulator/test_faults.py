"""Fault plans: parsing, seeded draws, and injection into AWS calls."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from rehearsal.emulator import Emulator, FaultPlan, FaultSpecError

NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


def post(emulator: Emulator, method: str, body: dict[str, Any] | None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{emulator.url}/_emulator/faults", data=data, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_from_spec_reads_every_fault() -> None:
    plan = FaultPlan.from_spec(
        "throttle=0.1,internal=0.02,stuck=cluster:INITIALIZE_IN_PROGRESS,"
        "connect_error=NETWORK_ERRORS,replace_first_hsm,ssm=timeout"
    )

    assert plan.to_dict() == {
        "throttle": 0.1,
        "internal": 0.02,
        "stuck": {"cluster": "INITIALIZE_IN_PROGRESS"},
        "connect_error": "NETWORK_ERRORS",
        "replace_first_hsm": True,
        "ssm": "timeout",
    }


def test_from_spec_empty_means_no_faults() -> None:
    assert FaultPlan.from_spec("") == FaultPlan()


def test_from_spec_unknown_token_refused() -> None:
    with pytest.raises(FaultSpecError) as caught:
        FaultPlan.from_spec("throttle=0.1,explode")

    assert str(caught.value).startswith("unknown or malformed fault 'explode'")
    assert "allowed: throttle=<0..1>, internal=<0..1>" in str(caught.value)


def test_from_spec_bad_probability_refused() -> None:
    with pytest.raises(FaultSpecError, match="bad throttle=2 probability '2'"):
        FaultPlan.from_spec("throttle=2")


def test_from_spec_bad_stuck_kind_refused() -> None:
    with pytest.raises(FaultSpecError, match="bad stuck fault vpc:AVAILABLE"):
        FaultPlan.from_spec("stuck=vpc:AVAILABLE")


@pytest.mark.parametrize(
    "stuck",
    [
        "cluster:CREATE_IN_PROGRESS",
        "cluster:INITIALIZE_IN_PROGRESS",
        "cluster:INITIALIZED",
        "cluster:DELETE_IN_PROGRESS",
        "hsm:CREATE_IN_PROGRESS",
        "hsm:DELETE_IN_PROGRESS",
        "key_store:CONNECTING",
        "key_store:DISCONNECTING",
    ],
)
def test_from_spec_stuck_state_a_resource_leaves_accepted(stuck: str) -> None:
    kind, state = stuck.split(":")

    assert FaultPlan.from_spec(f"stuck={stuck}").stuck_state(kind) == state


@pytest.mark.parametrize(
    ("stuck", "allowed"),
    [
        (
            "cluster:ACTIVE",
            "CREATE_IN_PROGRESS, INITIALIZE_IN_PROGRESS, INITIALIZED, "
            "DELETE_IN_PROGRESS",
        ),
        ("hsm:ACTIVE", "CREATE_IN_PROGRESS, DELETE_IN_PROGRESS"),
        ("key_store:CONNECTED", "CONNECTING, DISCONNECTING"),
    ],
)
def test_from_spec_stuck_state_never_left_refused(stuck: str, allowed: str) -> None:
    kind = stuck.split(":")[0]

    with pytest.raises(FaultSpecError) as caught:
        FaultPlan.from_spec(f"stuck={stuck}")

    assert str(caught.value) == (
        f"bad stuck fault {stuck}; a {kind} can be stuck only in {allowed}, "
        "the states it leaves on its own"
    )


def test_from_spec_stuck_instance_refused() -> None:
    with pytest.raises(FaultSpecError) as caught:
        FaultPlan.from_spec("stuck=instance:PENDING")

    assert str(caught.value) == (
        "bad stuck fault instance:PENDING; the kind must be one of cluster, hsm, "
        "key_store"
    )


def test_faults_route_stuck_state_never_left_answers_400(emulator: Emulator) -> None:
    status, body = post(emulator, "POST", {"stuck": {"cluster": "ACTIVE"}})

    assert status == 400
    assert body["error"].startswith("bad stuck fault cluster:ACTIVE; a cluster can")
    assert emulator.faults.stuck == {}


def test_from_spec_bad_connect_error_refused() -> None:
    with pytest.raises(FaultSpecError, match="bad connect_error 'OOPS'; allowed:"):
        FaultPlan.from_spec("connect_error=OOPS")


def test_from_spec_bad_ssm_refused() -> None:
    with pytest.raises(FaultSpecError, match="bad ssm fault 'hang'"):
        FaultPlan.from_spec("ssm=hang")


def test_from_dict_unknown_key_refused() -> None:
    with pytest.raises(FaultSpecError, match="unknown fault 'latency'"):
        FaultPlan.from_dict({"latency": 3})


def test_fault_spec_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        FaultPlan.from_spec("ssm")


def test_draw_repeats_for_same_seed() -> None:
    def draws(seed: int) -> list[Any]:
        plan = FaultPlan(throttle=0.3, internal=0.2, seed=seed)
        return [plan.draw() for _ in range(200)]

    first, again, other = draws(7), draws(7), draws(8)

    assert first == again
    assert first != other
    assert 40 < first.count("throttled") < 80
    assert 20 < first.count("internal") < 60


def test_faults_route_sets_and_clears_plan(emulator: Emulator) -> None:
    set_status, plan = post(emulator, "POST", {"stuck": {"hsm": "CREATE_IN_PROGRESS"}})
    stuck = emulator.faults.stuck_state("hsm")
    clear_status, cleared = post(emulator, "DELETE", None)

    assert (set_status, plan["stuck"]) == (200, {"hsm": "CREATE_IN_PROGRESS"})
    assert stuck == "CREATE_IN_PROGRESS"
    assert (clear_status, cleared["stuck"]) == (200, {})


def test_faults_route_bad_body_answers_400(emulator: Emulator) -> None:
    status, body = post(emulator, "POST", {"ssm": "explode"})

    assert status == 400
    assert body["error"] == "bad ssm fault 'explode'; allowed: fail, timeout"


def test_throttle_fault_answers_json_throttling(emulator: Emulator) -> None:
    emulator.faults = FaultPlan(throttle=1.0)

    with pytest.raises(ClientError) as caught:
        boto3.client("kms", config=NO_RETRIES).list_keys()

    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert emulator.calls.all()[-1].outcome == "throttled"


def test_throttle_fault_answers_query_throttling(emulator: Emulator) -> None:
    emulator.faults = FaultPlan(throttle=1.0)

    with pytest.raises(ClientError) as caught:
        boto3.client("ec2", config=NO_RETRIES).describe_vpcs()

    assert caught.value.response["Error"]["Code"] == "Throttling"
    assert caught.value.response["Error"]["Message"].startswith("Rate exceeded")


def test_internal_fault_answers_500(emulator: Emulator) -> None:
    emulator.faults = FaultPlan(internal=1.0)

    with pytest.raises(ClientError) as caught:
        boto3.client("cloudhsmv2", config=NO_RETRIES).describe_clusters()

    assert caught.value.response["Error"]["Code"] == "InternalFailure"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_internal_fault_query_answers_internal_error(emulator: Emulator) -> None:
    emulator.faults = FaultPlan(internal=1.0)

    with pytest.raises(ClientError) as caught:
        boto3.client("sts", config=NO_RETRIES).get_caller_identity()

    assert caught.value.response["Error"]["Code"] == "InternalError"


def test_faults_never_touch_control_routes(emulator: Emulator) -> None:
    emulator.faults = FaultPlan(throttle=1.0)

    status, plan = post(emulator, "POST", {"throttle": 1.0})

    assert (status, plan["throttle"]) == (200, 1.0)


def test_standard_retries_get_through_light_throttling(emulator: Emulator) -> None:
    emulator.faults = FaultPlan(throttle=0.3, seed=1)
    kms = boto3.client("kms", config=Config(retries={"mode": "standard"}))

    for _ in range(5):
        kms.list_keys()

    counts = [c.outcome for c in emulator.calls.all()]
    assert counts.count("ok") == 5
    assert "throttled" in counts


def test_calls_route_lists_recorded_calls(emulator: Emulator) -> None:
    boto3.client("cloudhsmv2").describe_clusters()
    emulator.clock.advance(12)
    boto3.client("cloudhsmv2").describe_backups()

    with urllib.request.urlopen(f"{emulator.url}/_emulator/calls") as response:
        calls = json.loads(response.read())

    assert calls == [
        {
            "service": "cloudhsmv2",
            "operation": "DescribeClusters",
            "at": 0.0,
            "outcome": "ok",
        },
        {
            "service": "cloudhsmv2",
            "operation": "DescribeBackups",
            "at": 12.0,
            "outcome": "ok",
        },
    ]


def test_calls_record_error_code_as_outcome(emulator: Emulator) -> None:
    with pytest.raises(ClientError):
        boto3.client("cloudhsmv2").delete_cluster(ClusterId="cluster-aaaaaaaaaaa")

    assert emulator.calls.all()[-1].outcome == "CloudHsmResourceNotFoundException"
    assert emulator.calls.count_by_operation("cloudhsmv2") == {"DeleteCluster": 1}
