"""policies/deployer.json allows every call a deployment makes, and little more.

Three sources of calls are replayed against the policy: the emulator's call log
of a whole dev-stack rehearsal (the session's shared one, tests/conftest.py), the
boto3 calls written in providers/ (read from their source), and the calls the
real pulumi-aws provider makes for each resource type the program uses (listed
below from the provider's source, since the rehearsal's adapter makes fewer).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from components.admin_client import IAM_PATH
from iam_policy import Policy, Statement, iam_action
from tests.conftest import DevRehearsal

PROJECT_DIR = Path(__file__).resolve().parents[1]
POLICY_PATH = PROJECT_DIR / "policies" / "deployer.json"
ARCHITECTURE = PROJECT_DIR / "docs" / "architecture.md"
ACCOUNT = "123456789012"
REGION = "us-east-1"

# Action wildcards the policy may use, each with the reason no narrower list
# works. Empty: every service used has a named action for each call we make.
JUSTIFIED_WILDCARD_ACTIONS: dict[str, str] = {}

# Calls in the rehearsal's log that the deployer does not make. The emulator
# records only service, operation, time and outcome (every caller signs with the
# same key, `testing`), so they are recognised by operation: these two are made
# only by the rehearsal's `key_encrypts_and_decrypts` check. The admin
# instance's `aws secretsmanager get-secret-value` and the checks' SSM and
# Describe calls cannot be told apart from the deployer's own calls of the same
# operations; the deployer needs those operations anyway, so they stay in.
EXCLUDED_CALLS = {
    ("kms", "Encrypt"): "rehearsal check key_encrypts_and_decrypts",
    ("kms", "Decrypt"): "rehearsal check key_encrypts_and_decrypts",
}

# What terraform-provider-aws v6 (under pulumi-aws 7) calls for create, read
# (refresh), update and delete of each type the program uses, beyond what the
# rehearsal's adapter does. Reviewed against the provider's source; keep it in
# step with docs/architecture.md "Resource model".
PULUMI_AWS_ACTIONS: dict[str, tuple[str, ...]] = {
    "aws:ec2/vpc:Vpc": (
        "ec2:CreateVpc", "ec2:DescribeVpcs", "ec2:DescribeVpcAttribute",
        "ec2:ModifyVpcAttribute", "ec2:DescribeRouteTables",
        "ec2:DescribeNetworkAcls", "ec2:DescribeSecurityGroups", "ec2:DeleteVpc",
        "ec2:CreateTags", "ec2:DeleteTags",
    ),
    "aws:ec2/subnet:Subnet": (
        "ec2:CreateSubnet", "ec2:DescribeSubnets", "ec2:ModifySubnetAttribute",
        "ec2:DeleteSubnet", "ec2:DescribeNetworkInterfaces", "ec2:CreateTags",
    ),
    "aws:ec2/internetGateway:InternetGateway": (
        "ec2:CreateInternetGateway", "ec2:AttachInternetGateway",
        "ec2:DescribeInternetGateways", "ec2:DetachInternetGateway",
        "ec2:DeleteInternetGateway", "ec2:CreateTags",
    ),
    "aws:ec2/eip:Eip": (
        "ec2:AllocateAddress", "ec2:DescribeAddresses",
        "ec2:DescribeAddressesAttribute", "ec2:DisassociateAddress",
        "ec2:ReleaseAddress", "ec2:CreateTags",
    ),
    "aws:ec2/natGateway:NatGateway": (
        "ec2:CreateNatGateway", "ec2:DescribeNatGateways", "ec2:DeleteNatGateway",
        "ec2:CreateTags",
    ),
    "aws:ec2/routeTable:RouteTable": (
        "ec2:CreateRouteTable", "ec2:DescribeRouteTables", "ec2:DeleteRouteTable",
        "ec2:DisassociateRouteTable", "ec2:CreateTags",
    ),
    "aws:ec2/route:Route": (
        "ec2:CreateRoute", "ec2:DescribeRouteTables", "ec2:ReplaceRoute",
        "ec2:DeleteRoute",
    ),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": (
        "ec2:AssociateRouteTable", "ec2:DescribeRouteTables",
        "ec2:ReplaceRouteTableAssociation", "ec2:DisassociateRouteTable",
    ),
    "aws:cloudhsmv2/cluster:Cluster": (
        "cloudhsm:CreateCluster", "cloudhsm:DescribeClusters",
        "cloudhsm:DeleteCluster", "cloudhsm:TagResource", "cloudhsm:UntagResource",
        # CloudHSM makes the cluster's security group and the HSMs' network
        # interfaces with the caller's permissions.
        "ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress",
        "ec2:DescribeSecurityGroups", "ec2:DeleteSecurityGroup",
        "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:CreateTags",
        "iam:CreateServiceLinkedRole",
    ),
    "aws:cloudhsmv2/hsm:Hsm": (
        "cloudhsm:CreateHsm", "cloudhsm:DescribeClusters", "cloudhsm:DeleteHsm",
        "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeNetworkInterfaceAttribute", "ec2:DetachNetworkInterface",
        "ec2:DeleteNetworkInterface",
    ),
    "aws:secretsmanager/secret:Secret": (
        "secretsmanager:CreateSecret", "secretsmanager:DescribeSecret",
        "secretsmanager:GetResourcePolicy", "secretsmanager:UpdateSecret",
        "secretsmanager:TagResource", "secretsmanager:UntagResource",
        "secretsmanager:DeleteSecret",
    ),
    "aws:secretsmanager/secretVersion:SecretVersion": (
        "secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret", "secretsmanager:UpdateSecretVersionStage",
    ),
    "aws:iam/role:Role": (
        "iam:CreateRole", "iam:GetRole", "iam:UpdateRole",
        "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole",
        "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole", "iam:RemoveRoleFromInstanceProfile",
        "iam:DeleteRole",
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (
        "iam:AttachRolePolicy", "iam:ListAttachedRolePolicies",
        "iam:DetachRolePolicy",
    ),
    "aws:iam/rolePolicy:RolePolicy": (
        "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy",
    ),
    "aws:iam/instanceProfile:InstanceProfile": (
        "iam:CreateInstanceProfile", "iam:GetInstanceProfile",
        "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile",
        "iam:TagInstanceProfile", "iam:UntagInstanceProfile",
        "iam:DeleteInstanceProfile", "iam:PassRole",
    ),
    "aws:ec2/securityGroup:SecurityGroup": (
        "ec2:CreateSecurityGroup", "ec2:DescribeSecurityGroups",
        "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress",
        "ec2:DescribeNetworkInterfaces", "ec2:DeleteSecurityGroup",
        "ec2:CreateTags", "ec2:DeleteTags",
    ),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (
        "ec2:AuthorizeSecurityGroupIngress", "ec2:DescribeSecurityGroupRules",
        "ec2:ModifySecurityGroupRules", "ec2:RevokeSecurityGroupIngress",
        "ec2:CreateTags",
    ),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": (
        "ec2:AuthorizeSecurityGroupEgress", "ec2:DescribeSecurityGroupRules",
        "ec2:ModifySecurityGroupRules", "ec2:RevokeSecurityGroupEgress",
        "ec2:CreateTags",
    ),
    "aws:ec2/instance:Instance": (
        "ec2:DescribeImages", "ec2:DescribeInstanceTypes", "ec2:RunInstances",
        "ec2:DescribeInstances", "ec2:DescribeInstanceAttribute",
        "ec2:DescribeInstanceCreditSpecifications", "ec2:DescribeVolumes",
        "ec2:ModifyVolume", "ec2:DescribeVolumesModifications",
        "ec2:ModifyInstanceAttribute", "ec2:ModifyInstanceMetadataOptions",
        "ec2:DescribeIamInstanceProfileAssociations",
        "ec2:AssociateIamInstanceProfile",
        "ec2:ReplaceIamInstanceProfileAssociation", "ec2:StopInstances",
        "ec2:StartInstances", "ec2:TerminateInstances", "ec2:CreateTags",
        "ec2:DeleteTags", "iam:PassRole",
    ),
    "aws:kms/customKeyStore:CustomKeyStore": (
        "kms:CreateCustomKeyStore", "kms:DescribeCustomKeyStores",
        "kms:UpdateCustomKeyStore", "kms:DeleteCustomKeyStore",
        "cloudhsm:DescribeClusters", "iam:CreateServiceLinkedRole",
    ),
    "aws:kms/key:Key": (
        "kms:CreateKey", "kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy",
        "kms:GetKeyRotationStatus", "kms:ListResourceTags", "kms:TagResource",
        "kms:UntagResource", "kms:UpdateKeyDescription", "kms:EnableKey",
        "kms:DisableKey", "kms:ScheduleKeyDeletion",
    ),
    "aws:kms/alias:Alias": (
        "kms:CreateAlias", "kms:ListAliases", "kms:UpdateAlias", "kms:DeleteAlias",
    ),
    "aws:index/getCallerIdentity:getCallerIdentity": ("sts:GetCallerIdentity",),
    "aws:index/getRegion:getRegion": (),
    "aws:index/getAvailabilityZones:getAvailabilityZones": (
        "ec2:DescribeAvailabilityZones",
    ),
    "aws:ec2/getSubnet:getSubnet": ("ec2:DescribeSubnets",),
    "aws:cloudhsmv2/getCluster:getCluster": ("cloudhsm:DescribeClusters",),
    "aws:ssm/getParameter:getParameter": ("ssm:GetParameter",),
}  # fmt: skip

# Resources of this stack as AWS names them (Pulumi's auto-names end in seven
# random hex digits).
ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role{IAM_PATH}cluster-admin-role-1a2b3c4"
ADMIN_PROFILE = (
    f"arn:aws:iam::{ACCOUNT}:instance-profile{IAM_PATH}cluster-admin-profile-5d6e7f8"
)
ADMIN_SECRET = (
    f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
    "fips-keystore/dev/admin-password-20260101-AbCdEf"
)
RUN_SHELL_SCRIPT = f"arn:aws:ssm:{REGION}::document/AWS-RunShellScript"
CLOUDHSM_SERVICE_ROLE = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/cloudhsm.amazonaws.com/"
    "AWSServiceRoleForCloudHSM"
)
KMS_SERVICE_ROLE = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/cks.kms.amazonaws.com/"
    "AWSServiceRoleForKeyManagementServiceCustomKeyStores"
)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.from_file(POLICY_PATH)


@pytest.fixture(scope="module")
def rehearsal_report(dev_rehearsal: DevRehearsal) -> dict[str, Any]:
    """The report of the session's whole dev-stack rehearsal (tests/conftest.py)."""
    report = dev_rehearsal.report
    if not report.get("api_calls"):
        pytest.skip(f"the rehearsal recorded no API calls: {report.get('error')}")
    return report


def test_rehearsal_calls_allowed_by_deployer_policy(
    policy: Policy, rehearsal_report: dict[str, Any]
) -> None:
    calls = _replayed_calls(rehearsal_report["api_calls"])

    denied = [
        f"{service} {operation} ({count} calls) needs {action}"
        for (service, operation), (action, count) in sorted(calls.items())
        if policy.denied_actions([action])
    ]

    assert not denied, f"{POLICY_PATH.name} does not allow:\n" + "\n".join(denied)
    _skip_unless_complete(rehearsal_report, len(calls))


def test_excluded_calls_logged_only_when_key_check_ran(
    rehearsal_report: dict[str, Any],
) -> None:
    checks = rehearsal_report["checks"]
    logged = {
        (service, operation)
        for service, operations in rehearsal_report["api_calls"].items()
        for operation in operations
    }

    excluded_seen = logged & set(EXCLUDED_CALLS)

    assert not excluded_seen or "key_encrypts_and_decrypts" in checks


def test_provider_calls_allowed_by_deployer_policy(policy: Policy) -> None:
    calls = sorted(set(provider_calls()))

    denied = [
        f"{module}: {service} {operation}"
        for module, service, operation in calls
        if policy.denied_actions([iam_action(service, operation)])
    ]

    assert calls
    assert not denied, "providers/ make calls the policy denies:\n" + "\n".join(denied)


def test_provider_call_scan_finds_calls_of_each_provider_kind() -> None:
    found = {(service, operation) for _, service, operation in provider_calls()}

    assert ("cloudhsmv2", "InitializeCluster") in found
    assert ("kms", "ConnectCustomKeyStore") in found
    assert ("ssm", "SendCommand") in found


def test_pulumi_aws_calls_allowed_by_deployer_policy(policy: Policy) -> None:
    denied = [
        f"{type_token}: {action}"
        for type_token, actions in sorted(PULUMI_AWS_ACTIONS.items())
        for action in policy.denied_actions(actions)
    ]

    assert not denied, "pulumi-aws calls the policy denies:\n" + "\n".join(denied)


def test_pulumi_aws_actions_cover_every_type_of_resource_model() -> None:
    tokens = resource_model_tokens()

    missing = sorted(tokens - set(PULUMI_AWS_ACTIONS))

    assert len(tokens) >= 20
    assert not missing, (
        f"{ARCHITECTURE.name} lists types with no entry in PULUMI_AWS_ACTIONS: "
        f"{missing}; add the provider's calls for them and extend the policy"
    )


def test_policy_has_no_unjustified_wildcard_action(policy: Policy) -> None:
    wildcards = [
        f"{statement.sid}: {action}"
        for statement in policy.statements
        for action in statement.actions
        if ("*" in action or "?" in action) and action not in JUSTIFIED_WILDCARD_ACTIONS
    ]

    assert not wildcards, "wildcard actions without a reason:\n" + "\n".join(wildcards)


def test_policy_uses_no_not_action_and_no_deny(policy: Policy) -> None:
    unusual = [s.sid for s in policy.statements if s.not_actions or s.effect != "Allow"]

    assert not unusual


@pytest.mark.parametrize(
    "action",
    [
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:PassRole",
        "iam:CreateServiceLinkedRole",
        "iam:DeleteRole",
        "secretsmanager:GetSecretValue",
        "secretsmanager:DeleteSecret",
        "ssm:SendCommand",
        "ssm:GetParameter",
        "kms:ScheduleKeyDeletion",
        "kms:PutKeyPolicy",
        "kms:DeleteAlias",
    ],
)
def test_policy_scopes_sensitive_action_to_named_resources(
    policy: Policy, action: str
) -> None:
    assert policy.allows_somewhere(action)
    assert not policy.allows(action, "*")


def test_policy_grants_no_use_of_keys(policy: Policy) -> None:
    uses = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom"]

    assert policy.denied_actions(uses) == sorted(uses)


def test_pass_role_allowed_for_admin_role_only(policy: Policy) -> None:
    other = f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole"

    assert policy.allows("iam:PassRole", ADMIN_ROLE)
    assert not policy.allows("iam:PassRole", other)


def test_pass_role_limited_to_ec2(policy: Policy) -> None:
    conditions = [s.condition for s in _granting(policy, "iam:PassRole", ADMIN_ROLE)]

    assert conditions == [
        {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    ]


def test_admin_role_matches_rehearsal_auto_name(policy: Policy) -> None:
    from rehearsal.engine.aws_adapter import auto_name

    role = f"arn:aws:iam::{ACCOUNT}:role{IAM_PATH}{auto_name({}, 'cluster-admin-role')}"
    profile = auto_name({}, "cluster-admin-profile")

    assert policy.allows("iam:PassRole", role)
    assert policy.allows(
        "iam:AddRoleToInstanceProfile",
        f"arn:aws:iam::{ACCOUNT}:instance-profile{IAM_PATH}{profile}",
    )


def test_iam_changes_only_on_roles_under_the_stack_path(policy: Policy) -> None:
    lookalike = f"arn:aws:iam::{ACCOUNT}:role/cluster-admin-role-1a2b3c4"

    for action in ("iam:PutRolePolicy", "iam:PassRole", "iam:DeleteRole"):
        assert policy.allows(action, ADMIN_ROLE)
        assert not policy.allows(action, lookalike)


def test_attach_role_policy_limited_to_ssm_core(policy: Policy) -> None:
    conditions = [
        s.condition for s in _granting(policy, "iam:AttachRolePolicy", ADMIN_ROLE)
    ]

    assert conditions == [
        {
            "ArnLike": {
                "iam:PolicyARN": "arn:*:iam::aws:policy/AmazonSSMManagedInstanceCore"
            }
        }
    ]


def test_service_linked_roles_only_for_cloudhsm_and_kms(policy: Policy) -> None:
    autoscaling = (
        f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/"
        "AWSServiceRoleForAutoScaling"
    )

    assert policy.allows("iam:CreateServiceLinkedRole", CLOUDHSM_SERVICE_ROLE)
    assert policy.allows("iam:CreateServiceLinkedRole", KMS_SERVICE_ROLE)
    assert not policy.allows("iam:CreateServiceLinkedRole", autoscaling)


def test_send_command_only_with_run_shell_script(policy: Policy) -> None:
    power_shell = f"arn:aws:ssm:{REGION}::document/AWS-RunPowerShellScript"
    own_document = f"arn:aws:ssm:{REGION}:{ACCOUNT}:document/AnyScript"

    assert policy.allows("ssm:SendCommand", RUN_SHELL_SCRIPT)
    assert not policy.allows("ssm:SendCommand", power_shell)
    assert not policy.allows("ssm:SendCommand", own_document)


def test_send_command_to_instances_needs_stack_tag(policy: Policy) -> None:
    instance = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0"

    conditions = [s.condition for s in _granting(policy, "ssm:SendCommand", instance)]

    assert conditions == [{"StringLike": {"ssm:resourceTag/fips-keystore:stack": "*"}}]


def test_stack_tag_is_set_on_an_instance_only_when_it_is_created(
    policy: Policy,
) -> None:
    # SendCommand trusts the tag key: tagging an existing instance with it would
    # open a root shell on any instance of the account.
    instance = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0"

    conditions = [s.condition for s in _granting(policy, "ec2:CreateTags", instance)]

    assert sorted(map(str, conditions)) == sorted(
        map(
            str,
            [
                {"Null": {"ec2:CreateAction": "false"}},
                {
                    "ForAllValues:StringNotEquals": {
                        "aws:TagKeys": ["fips-keystore:stack"]
                    }
                },
            ],
        )
    )


def test_secrets_only_under_project_prefix(policy: Policy) -> None:
    other = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/db-AbCdEf"

    assert policy.allows("secretsmanager:GetSecretValue", ADMIN_SECRET)
    assert not policy.allows("secretsmanager:GetSecretValue", other)


def test_create_key_only_in_cloudhsm_key_store(policy: Policy) -> None:
    conditions = [s.condition for s in _granting(policy, "kms:CreateKey", "*")]

    assert conditions == [{"StringEquals": {"kms:KeyOrigin": "AWS_CLOUDHSM"}}]


def provider_calls() -> Iterator[tuple[str, str, str]]:
    """(module, botocore service, operation) of each boto3 call in providers/."""
    session = botocore.session.get_session()
    for path in sorted((PROJECT_DIR / "providers").glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        clients = _client_variables(tree)
        wrapped = _wrapped_client_service(tree)
        for node in ast.walk(tree):
            found = _client_call(node, clients) or _wrapped_call(node, wrapped)
            if found is not None:
                service, method = found
                yield path.name, service, _operation(session, service, method)


def resource_model_tokens() -> set[str]:
    """The pulumi-aws type and data source tokens docs/architecture.md lists."""
    text = ARCHITECTURE.read_text()
    model = text[text.index("## Resource model") :]
    model = model[: model.index("Dynamic providers")]
    return set(re.findall(r"aws:[A-Za-z0-9]+/[A-Za-z0-9]+:[A-Za-z0-9]+", model))


def _client_variables(tree: ast.AST) -> dict[str, str]:
    """Names assigned `aws.client("service", ...)`, by name."""
    clients = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, service = node.targets[0], _client_service(node.value)
            if isinstance(target, ast.Name) and service is not None:
                clients[target.id] = service
    return clients


def _client_service(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "client"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "aws"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ):
        return str(node.args[0].value)
    return None


def _client_call(node: ast.AST, clients: dict[str, str]) -> tuple[str, str] | None:
    """(service, method) when `node` calls a method on a boto3 client."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return None
    receiver = node.func.value
    method = _paginated_method(node) or node.func.attr
    if isinstance(receiver, ast.Name) and receiver.id in clients:
        return clients[receiver.id], method
    service = _client_service(receiver)
    return (service, method) if service is not None else None


def _wrapped_client_service(tree: ast.AST) -> str | None:
    """The service of a class that holds `self.x = aws.client(...)` behind `call`.

    providers/key_store_connection.py spaces its KMS calls through such a class
    (`api.call("connect_custom_key_store", ...)`); its calls count as that service's.
    """
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        methods = {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
        for inner in ast.walk(node):
            if (
                "call" in methods
                and isinstance(inner, ast.Assign)
                and isinstance(inner.targets[0], ast.Attribute)
                and (service := _client_service(inner.value)) is not None
            ):
                return service
    return None


def _wrapped_call(node: ast.AST, service: str | None) -> tuple[str, str] | None:
    """(service, method) of `api.call("method", ...)` on such a wrapper."""
    if (
        service is not None
        and isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "call"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ):
        return service, str(node.args[0].value)
    return None


def _paginated_method(node: ast.Call) -> str | None:
    """The operation behind `client.get_paginator("list_keys")`, by method name."""
    if (
        isinstance(node.func, ast.Attribute)
        and node.func.attr == "get_paginator"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ):
        return str(node.args[0].value)
    return None


def _operation(session: Any, service: str, method: str) -> str:
    names = session.get_service_model(service).operation_names
    by_method = {xform_name(name): name for name in names}
    if method not in by_method:
        raise AssertionError(
            f"providers/ call {service}.{method}, which is not an operation of "
            f"botocore's {service} model; the scan in this test needs updating"
        )
    return str(by_method[method])


def _replayed_calls(
    api_calls: dict[str, dict[str, int]],
) -> dict[tuple[str, str], tuple[str, int]]:
    return {
        (service, operation): (iam_action(service, operation), count)
        for service, operations in api_calls.items()
        for operation, count in operations.items()
        if (service, operation) not in EXCLUDED_CALLS
    }


def _skip_unless_complete(report: dict[str, Any], replayed: int) -> None:
    """Every logged call is allowed; say so when the run stopped before the end."""
    failed = {name: got for name, got in report["checks"].items() if got != "pass"}
    if report.get("error") or failed:
        pytest.skip(
            f"all {replayed} kinds of logged call are allowed, but the rehearsal "
            f"did not finish ({report.get('error') or failed}); calls after that "
            "point are not replayed yet"
        )


def _granting(policy: Policy, action: str, resource: str) -> list[Statement]:
    return [
        s
        for s in policy.statements
        if s.effect == "Allow" and s.matches(action, resource)
    ]
