"""IAM role pieces and Secrets Manager secrets for the rehearsal adapter."""

import hashlib
from typing import Any

from botocore.exceptions import ClientError

from rehearsal.engine.aws_adapter import (
    AwsContext,
    Deletion,
    Outputs,
    ResourceKind,
    auto_name,
    tags_of,
)


def _missing(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code")
    return code in ("NoSuchEntity", "ResourceNotFoundException")


def _or_none(call: Any, **params: Any) -> Any:
    try:
        return call(**params)
    except ClientError as error:
        if _missing(error):
            return None
        raise


# Role and its policies


def _create_role(ctx: AwsContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    role_name = auto_name(inputs, name, stack=ctx.stack, moment=ctx.clock.now())
    params: dict[str, Any] = {
        "RoleName": role_name,
        "AssumeRolePolicyDocument": inputs["assumeRolePolicy"],
        "Path": inputs.get("path") or "/",
    }
    if inputs.get("description"):
        params["Description"] = inputs["description"]
    if inputs.get("tags"):
        params["Tags"] = tags_of(inputs)
    role = ctx.client("iam").create_role(**params)["Role"]
    return role_name, {
        "name": role_name,
        "arn": role["Arn"],
        "uniqueId": role["RoleId"],
    }


def _read_role(ctx: AwsContext, id_: str, _outputs: Outputs) -> Outputs | None:
    reply = _or_none(ctx.client("iam").get_role, RoleName=id_)
    return None if reply is None else {"arn": reply["Role"]["Arn"]}


def _delete_role(ctx: AwsContext, id_: str, _outputs: Outputs) -> Deletion:
    ctx.client("iam").delete_role(RoleName=id_)
    return Deletion()


def _create_attachment(
    ctx: AwsContext, _name: str, inputs: Outputs
) -> tuple[str, Outputs]:
    role, policy_arn = inputs["role"], inputs["policyArn"]
    ctx.client("iam").attach_role_policy(RoleName=role, PolicyArn=policy_arn)
    return f"{role}-{hashlib.sha256(policy_arn.encode()).hexdigest()[:8]}", {}


def _read_attachment(ctx: AwsContext, _id: str, outputs: Outputs) -> Outputs | None:
    reply = _or_none(
        ctx.client("iam").list_attached_role_policies, RoleName=outputs["role"]
    )
    attached = [p["PolicyArn"] for p in reply["AttachedPolicies"]] if reply else []
    return {} if outputs["policyArn"] in attached else None


def _delete_attachment(ctx: AwsContext, _id: str, outputs: Outputs) -> Deletion:
    ctx.client("iam").detach_role_policy(
        RoleName=outputs["role"], PolicyArn=outputs["policyArn"]
    )
    return Deletion()


def _create_role_policy(
    ctx: AwsContext, name: str, inputs: Outputs
) -> tuple[str, Outputs]:
    policy_name = auto_name(inputs, name, stack=ctx.stack, moment=ctx.clock.now())
    ctx.client("iam").put_role_policy(
        RoleName=inputs["role"], PolicyName=policy_name, PolicyDocument=inputs["policy"]
    )
    return f"{inputs['role']}:{policy_name}", {"name": policy_name}


def _read_role_policy(ctx: AwsContext, _id: str, outputs: Outputs) -> Outputs | None:
    reply = _or_none(
        ctx.client("iam").get_role_policy,
        RoleName=outputs["role"],
        PolicyName=outputs["name"],
    )
    return None if reply is None else {}


def _delete_role_policy(ctx: AwsContext, _id: str, outputs: Outputs) -> Deletion:
    ctx.client("iam").delete_role_policy(
        RoleName=outputs["role"], PolicyName=outputs["name"]
    )
    return Deletion()


def _create_profile(ctx: AwsContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    iam = ctx.client("iam")
    profile_name = auto_name(inputs, name, stack=ctx.stack, moment=ctx.clock.now())
    profile = iam.create_instance_profile(
        InstanceProfileName=profile_name, Path=inputs.get("path") or "/"
    )["InstanceProfile"]

    if inputs.get("role"):
        iam.add_role_to_instance_profile(
            InstanceProfileName=profile_name, RoleName=inputs["role"]
        )
    return profile_name, {
        "name": profile_name,
        "arn": profile["Arn"],
        "uniqueId": profile["InstanceProfileId"],
    }


def _read_profile(ctx: AwsContext, id_: str, _outputs: Outputs) -> Outputs | None:
    reply = _or_none(ctx.client("iam").get_instance_profile, InstanceProfileName=id_)
    return None if reply is None else {"arn": reply["InstanceProfile"]["Arn"]}


def _delete_profile(ctx: AwsContext, id_: str, outputs: Outputs) -> Deletion:
    iam = ctx.client("iam")
    if outputs.get("role"):
        iam.remove_role_from_instance_profile(
            InstanceProfileName=id_, RoleName=outputs["role"]
        )
    iam.delete_instance_profile(InstanceProfileName=id_)
    return Deletion()


# Secrets Manager


def _create_secret(ctx: AwsContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    secret_name = auto_name(inputs, name, stack=ctx.stack, moment=ctx.clock.now())
    params: dict[str, Any] = {"Name": secret_name}
    for key, pascal in (("description", "Description"), ("kmsKeyId", "KmsKeyId")):
        if inputs.get(key):
            params[pascal] = inputs[key]
    if inputs.get("tags"):
        params["Tags"] = tags_of(inputs)
    arn = ctx.client("secretsmanager").create_secret(**params)["ARN"]
    return arn, {"arn": arn, "name": secret_name}


def _read_secret(ctx: AwsContext, id_: str, _outputs: Outputs) -> Outputs | None:
    reply = _or_none(ctx.client("secretsmanager").describe_secret, SecretId=id_)
    if reply is None or reply.get("DeletedDate"):
        return None
    return {"arn": reply["ARN"], "name": reply["Name"]}


def _delete_secret(ctx: AwsContext, id_: str, outputs: Outputs) -> Deletion:
    window = outputs.get("recoveryWindowInDays")
    window = 30 if window is None else int(window)
    client = ctx.client("secretsmanager")
    if window == 0:
        client.delete_secret(SecretId=id_, ForceDeleteWithoutRecovery=True)
        return Deletion()
    reply = client.delete_secret(SecretId=id_, RecoveryWindowInDays=window)
    return Deletion("scheduled for deletion", reply["DeletionDate"].isoformat())


def _create_version(
    ctx: AwsContext, _name: str, inputs: Outputs
) -> tuple[str, Outputs]:
    params: dict[str, Any] = {"SecretId": inputs["secretId"]}
    if inputs.get("secretString") is not None:
        params["SecretString"] = inputs["secretString"]
    if inputs.get("versionStages"):
        params["VersionStages"] = list(inputs["versionStages"])
    reply = ctx.client("secretsmanager").put_secret_value(**params)
    stages = reply.get("VersionStages") or ["AWSCURRENT"]
    return f"{reply['ARN']}|{reply['VersionId']}", {
        "arn": reply["ARN"],
        "versionId": reply["VersionId"],
        "versionStages": stages,
    }


def _read_version(ctx: AwsContext, _id: str, outputs: Outputs) -> Outputs | None:
    reply = _or_none(
        ctx.client("secretsmanager").describe_secret, SecretId=outputs["secretId"]
    )
    if reply is None or reply.get("DeletedDate"):
        return None
    return (
        {} if outputs["versionId"] in (reply.get("VersionIdsToStages") or {}) else None
    )


def _delete_version(ctx: AwsContext, _id: str, _outputs: Outputs) -> Deletion:
    # Like pulumi-aws: the AWSCURRENT label cannot be removed from the only version,
    # so the version goes with its secret.
    return Deletion("left with its secret")


KINDS = {
    "aws:iam/role:Role": ResourceKind(_create_role, _read_role, _delete_role),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ResourceKind(
        _create_attachment, _read_attachment, _delete_attachment
    ),
    "aws:iam/rolePolicy:RolePolicy": ResourceKind(
        _create_role_policy, _read_role_policy, _delete_role_policy
    ),
    "aws:iam/instanceProfile:InstanceProfile": ResourceKind(
        _create_profile, _read_profile, _delete_profile
    ),
    "aws:secretsmanager/secret:Secret": ResourceKind(
        _create_secret, _read_secret, _delete_secret
    ),
    "aws:secretsmanager/secretVersion:SecretVersion": ResourceKind(
        _create_version, _read_version, _delete_version
    ),
}
