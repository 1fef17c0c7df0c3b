"""The shared input rules of the providers' check methods."""

from __future__ import annotations

import pytest
from pulumi.runtime.rpc import UNKNOWN

from providers._inputs import (
    CLUSTER_ID_PATTERN,
    SECRET_ARN_PATTERN,
    InputCheck,
    changed_inputs,
    is_unknown,
)
from providers.key_store_connection import KeyStoreConnectionArgs


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:fips-keystore/dev/"
        "admin-password-664b856-mPuXBF",
        "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:a_b+c=d.e@f-x",
    ],
)
def test_secret_arn_pattern_accepts_real_arns(arn: str) -> None:
    assert SECRET_ARN_PATTERN.fullmatch(arn)


@pytest.mark.parametrize(
    "value",
    [
        "fips-keystore/dev/admin-password",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:",
        "arn:aws:ssm:us-east-1:123456789012:parameter/x",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:a\n",
    ],
)
def test_secret_arn_pattern_rejects_other_values(value: str) -> None:
    assert not SECRET_ARN_PATTERN.fullmatch(value)


def test_text_rejects_trailing_newline() -> None:
    check = InputCheck({"cluster_id": "cluster-abcdefghijk\n"})

    check.text("cluster_id", CLUSTER_ID_PATTERN, "a CloudHSM cluster id")

    assert [f.property for f in check.failures] == ["cluster_id"]


def test_integer_normalises_floats_and_applies_default() -> None:
    check = InputCheck({"days": 30.0})

    check.integer("days", 7, 379)
    check.integer("timeout_seconds", 60, 600, default=300)

    assert check.failures == []
    assert check.inputs["days"] == 30 and isinstance(check.inputs["days"], int)
    assert check.inputs["timeout_seconds"] == 300


def test_missing_required_property_fails_and_unknown_passes() -> None:
    check = InputCheck({"b": UNKNOWN})

    check.text("a", CLUSTER_ID_PATTERN, "x")
    check.text("b", CLUSTER_ID_PATTERN, "x")

    assert [(f.property, f.reason) for f in check.failures] == [("a", "a is required.")]


def test_region_rejects_names_that_are_not_regions() -> None:
    check = InputCheck({"region": "Virginia"})

    check.region()

    assert [f.reason for f in check.failures] == [
        "region must be an AWS Region name such as us-east-1, got 'Virginia'."
    ]


def test_is_unknown_looks_inside_lists_and_dicts() -> None:
    assert is_unknown(["10.0.0.1", UNKNOWN])
    assert is_unknown({"a": UNKNOWN})
    assert not is_unknown(["10.0.0.1"])


def test_changed_inputs_sees_removed_inputs_and_ignores_float_ints() -> None:
    olds = {
        "custom_key_store_id": "cks-1",
        "region": "us-east-1",
        "timeout_seconds": 60,
    }
    news = {"custom_key_store_id": "cks-1", "timeout_seconds": 60.0}

    assert changed_inputs(olds, news, KeyStoreConnectionArgs) == ["region"]
