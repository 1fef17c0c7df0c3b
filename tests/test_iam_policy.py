"""The IAM policy evaluator: allow, deny wins, wildcards, NotAction, call mapping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iam_policy import IamPolicyError, Policy, iam_action

ROLE_ARN = "arn:aws:iam::123456789012:role/app-role-1a2b3c4"


def policy(*statements: dict[str, Any]) -> Policy:
    return Policy.from_document(
        {"Version": "2012-10-17", "Statement": list(statements)}
    )


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*") -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


def test_allows_named_action() -> None:
    checked = policy(allow("kms:CreateKey"))

    assert checked.allows("kms:CreateKey")
    assert not checked.allows("kms:ScheduleKeyDeletion")


def test_allows_action_names_case_insensitively() -> None:
    checked = policy(allow("KMS:createkey"))

    assert checked.allows("kms:CreateKey")


def test_allows_nothing_without_statements() -> None:
    assert not policy().allows("sts:AssumeRole")


def test_allows_deny_wins_over_allow() -> None:
    checked = policy(allow("kms:*"), deny("kms:ScheduleKeyDeletion"))

    assert checked.allows("kms:DescribeKey")
    assert not checked.allows("kms:ScheduleKeyDeletion")


def test_allows_star_wildcard_within_service_only() -> None:
    checked = policy(allow("ec2:Describe*"))

    assert checked.allows("ec2:DescribeInstances")
    assert not checked.allows("ec2:RunInstances")
    assert not checked.allows("ssm:DescribeInstanceInformation")


def test_allows_question_mark_matches_one_character() -> None:
    checked = policy(allow("iam:?etRole"))

    assert checked.allows("iam:GetRole")
    assert not checked.allows("iam:GetRolePolicy")


def test_allows_not_action_allows_every_other_action() -> None:
    checked = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})

    assert checked.allows("ec2:RunInstances")
    assert not checked.allows("iam:CreateRole")


def test_allows_not_action_deny_blocks_every_other_action() -> None:
    checked = policy(
        allow("*"), {"Effect": "Deny", "NotAction": "kms:Describe*", "Resource": "*"}
    )

    assert checked.allows("kms:DescribeKey")
    assert not checked.allows("kms:CreateKey")


def test_allows_resource_arn_pattern() -> None:
    checked = policy(allow("iam:PassRole", "arn:aws:iam::*:role/app-role-*"))

    assert checked.allows("iam:PassRole", ROLE_ARN)
    assert not checked.allows("iam:PassRole", "arn:aws:iam::123456789012:role/Admin")


def test_allows_resource_star_only_matches_star_statements() -> None:
    checked = policy(allow("iam:PassRole", "arn:aws:iam::*:role/app-role-*"))

    assert not checked.allows("iam:PassRole")


def test_allows_resource_wildcard_stays_within_arn_segment() -> None:
    checked = policy(allow("ssm:SendCommand", "arn:aws:ssm:*:document/*"))

    assert not checked.allows(
        "ssm:SendCommand", "arn:aws:ssm:us-east-1::document/AWS-RunShellScript"
    )


def test_allows_resource_account_wildcard_matches_empty_account() -> None:
    checked = policy(allow("ssm:SendCommand", "arn:*:ssm:*:*:document/AWS-Run*"))

    assert checked.allows(
        "ssm:SendCommand", "arn:aws:ssm:us-east-1::document/AWS-RunShellScript"
    )


def test_allows_resource_names_case_sensitively() -> None:
    checked = policy(allow("iam:GetRole", "arn:aws:iam::*:role/App"))

    assert not checked.allows("iam:GetRole", "arn:aws:iam::123456789012:role/app")


def test_allows_caller_identity_without_permission() -> None:
    assert policy(deny("*")).allows("sts:GetCallerIdentity")


def test_denied_actions_lists_each_missing_action_once() -> None:
    checked = policy(allow(["kms:CreateKey", "kms:DescribeKey"]))

    denied = checked.denied_actions(
        ["kms:CreateKey", "kms:Encrypt", "kms:Decrypt", "kms:Encrypt"]
    )

    assert denied == ["kms:Decrypt", "kms:Encrypt"]


def test_denied_actions_counts_resource_scoped_grants() -> None:
    checked = policy(allow("iam:CreateRole", "arn:aws:iam::*:role/app-role-*"))

    assert checked.denied_actions(["iam:CreateRole", "iam:DeleteRole"]) == [
        "iam:DeleteRole"
    ]


def test_denied_actions_respects_deny_on_the_granted_resource() -> None:
    checked = policy(
        allow("iam:CreateRole", "arn:aws:iam::*:role/app-role-*"),
        deny("iam:CreateRole", "arn:aws:iam::*:role/*"),
    )

    assert checked.denied_actions(["iam:CreateRole"]) == ["iam:CreateRole"]


def test_from_file_reads_json_document(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"Statement": allow("kms:CreateKey")}))

    assert Policy.from_file(path).allows("kms:CreateKey")


def test_from_file_missing_file_names_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"

    with pytest.raises(IamPolicyError, match=r"Cannot read the IAM policy .*absent"):
        Policy.from_file(path)


def test_from_document_without_statement_fails() -> None:
    with pytest.raises(IamPolicyError, match="needs a top-level object with a "):
        Policy.from_document({"Version": "2012-10-17"})


def test_from_document_bad_effect_names_statement() -> None:
    statement = {"Effect": "allow", "Action": "kms:CreateKey", "Resource": "*"}

    with pytest.raises(IamPolicyError, match=r"statement 0 .* Effect 'allow'"):
        policy(statement)


def test_from_document_action_and_not_action_fails() -> None:
    statement = allow("kms:CreateKey", NotAction="kms:Decrypt")

    with pytest.raises(IamPolicyError, match="exactly one of Action and NotAction"):
        policy(statement)


def test_from_document_not_resource_refused() -> None:
    statement = {"Effect": "Allow", "Action": "kms:*", "NotResource": "*"}

    with pytest.raises(IamPolicyError, match="has NotResource, which this evaluator"):
        policy(statement)


def test_from_document_malformed_action_fails() -> None:
    with pytest.raises(IamPolicyError, match=r"Action 'CreateKey' in statement 0"):
        policy(allow("CreateKey"))


def test_from_document_keeps_condition_unevaluated() -> None:
    condition = {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}

    checked = policy(allow("iam:PassRole", Condition=condition))

    assert checked.statements[0].condition == condition
    assert checked.allows("iam:PassRole")


def test_iam_action_maps_cloudhsmv2_to_cloudhsm() -> None:
    assert iam_action("cloudhsmv2", "InitializeCluster") == "cloudhsm:InitializeCluster"


def test_iam_action_keeps_operation_name() -> None:
    assert iam_action("secretsmanager", "GetSecretValue") == (
        "secretsmanager:GetSecretValue"
    )


def test_iam_action_unknown_service_fails() -> None:
    with pytest.raises(IamPolicyError) as raised:
        iam_action("s3", "PutObject")

    message = str(raised.value)
    assert "No IAM action prefix is known for AWS service 's3'" in message
    assert "operation 'PutObject'" in message
    assert "add it to iam_policy.SERVICE_PREFIXES" in message


def test_allows_malformed_action_fails() -> None:
    with pytest.raises(IamPolicyError, match=r"Action 'CreateKey' in a question to"):
        policy(allow("kms:CreateKey")).allows("CreateKey")
