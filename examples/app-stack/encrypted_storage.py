"""Encrypt an application's S3 bucket and EBS volumes with the fips-keystore KMS key.

The key ARN comes from the key store stack's `kmsKeyArn` output through a
StackReference. A missing or malformed output, or a key in another Region, stops
the deployment with an `AppStackError` that says what to do, before any resource
uses the key. EBS default encryption is a per-account, per-Region setting: only one
stack in an account and Region should manage it (config `manageEbsEncryption`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

KEY_ARN_OUTPUT = "kmsKeyArn"
PROJECT = "fips-keystore-app"

_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_KEY_ARN = re.compile(
    r"^arn:aws[a-z-]*:kms:(?P<region>[a-z0-9-]+):\d{12}:key/[A-Za-z0-9-]+$"
)


class AppStackError(pulumi.RunError):
    """Base of the errors this example raises; Pulumi prints them without a trace."""


@dataclass(frozen=True)
class AppSettings:
    """The application stack's configuration, validated."""

    key_store_stack: str
    manage_ebs_encryption: bool = True

    @classmethod
    def from_config(cls, config: pulumi.Config) -> AppSettings:
        key_store_stack = config.require("keyStoreStack")
        manage_ebs = config.get_bool("manageEbsEncryption")
        return cls(
            key_store_stack=checked_stack_name(key_store_stack),
            manage_ebs_encryption=True if manage_ebs is None else manage_ebs,
        )


@dataclass(frozen=True)
class EncryptedBucket:
    """An S3 bucket encrypted by default with SSE-KMS and closed to the public."""

    bucket: aws.s3.Bucket
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    public_access_block: aws.s3.BucketPublicAccessBlock


@dataclass(frozen=True)
class EbsDefaultEncryption:
    """Account-wide default encryption of new EBS volumes in this Region."""

    enabled: aws.ebs.EncryptionByDefault
    default_key: aws.ebs.DefaultKmsKey


@dataclass(frozen=True)
class AppStack:
    """Everything the application stack creates, for exports and tests."""

    key_store: pulumi.StackReference
    key_arn: pulumi.Output[str]
    storage: EncryptedBucket
    ebs: EbsDefaultEncryption | None


def checked_stack_name(name: str) -> str:
    """Return `name` if it is a fully qualified `<org>/<project>/<stack>` name."""
    if _STACK_NAME.match(name):
        return name
    raise AppStackError(
        f"Config keyStoreStack is {name!r}, which is not a fully qualified stack "
        "name. Set it to <org>/fips-keystore/<stack>, for example: pulumi config "
        "set keyStoreStack acme/fips-keystore/dev"
    )


def checked_key_arn(value: object, stack_name: str) -> str:
    """Return the key store's `kmsKeyArn` output, or explain why it is unusable."""
    if value is None:
        raise AppStackError(
            f"Stack reference {stack_name!r} has no output {KEY_ARN_OUTPUT!r}. "
            "Check that keyStoreStack names the right stack, that `pulumi up` has "
            "finished there, and that it runs with createKeyStore true; then run "
            f"`pulumi stack output {KEY_ARN_OUTPUT} --stack {stack_name}` to see it."
        )
    if not isinstance(value, str) or not _KEY_ARN.match(value):
        raise AppStackError(
            f"Stack reference {stack_name!r} output {KEY_ARN_OUTPUT!r} is "
            f"{value!r}, not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
            " Point keyStoreStack at a fips-keystore stack."
        )
    return value


def checked_same_region(key_arn: str, region: str, stack_name: str) -> str:
    """Return `key_arn` if the key lives in `region`, where this stack deploys."""
    match = _KEY_ARN.match(key_arn)
    key_region = match.group("region") if match else ""
    if key_region == region:
        return key_arn
    raise AppStackError(
        f"The key from stack reference {stack_name!r} ({key_arn}) is in Region "
        f"{key_region!r}, but this stack deploys to {region!r}; S3 and EBS need a "
        f"key in their own Region. Run `pulumi config set aws:region {key_region}` "
        "or reference a key store stack in this Region."
    )


def key_arn_from(
    key_store: pulumi.StackReference, stack_name: str
) -> pulumi.Output[str]:
    """The key store's KMS key ARN, checked for presence, shape and Region."""
    key_arn = key_store.get_output(KEY_ARN_OUTPUT).apply(
        lambda value: checked_key_arn(value, stack_name)
    )
    region = aws.get_region_output().region
    return pulumi.Output.all(key_arn, region).apply(
        lambda pair: checked_same_region(pair[0], pair[1], stack_name)
    )


def encrypted_bucket(name: str, key_arn: pulumi.Input[str]) -> EncryptedBucket:
    """Create a bucket whose objects are encrypted with `key_arn` by default."""
    bucket = aws.s3.Bucket(name)
    child = pulumi.ResourceOptions(parent=bucket)

    # The bucket key cuts KMS requests (and CloudHSM load) by caching a
    # bucket-level data key instead of calling KMS for every object.
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": key_arn,
                },
                "bucket_key_enabled": True,
            }
        ],
        opts=child,
    )
    public_access_block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    return EncryptedBucket(bucket, encryption, public_access_block)


def ebs_default_encryption(
    name: str, key_arn: pulumi.Input[str]
) -> EbsDefaultEncryption:
    """Turn on EBS default encryption in this Region with `key_arn` as its key."""
    enabled = aws.ebs.EncryptionByDefault(f"{name}-ebs-encryption", enabled=True)

    default_key = aws.ebs.DefaultKmsKey(
        f"{name}-ebs-default-key",
        key_arn=key_arn,
        opts=pulumi.ResourceOptions(depends_on=[enabled]),
    )
    return EbsDefaultEncryption(enabled, default_key)


def deploy(settings: AppSettings, name: str = "app") -> AppStack:
    """Create the application's encrypted storage from the key store stack's key."""
    key_store = pulumi.StackReference(
        f"{name}-key-store", stack_name=settings.key_store_stack
    )
    key_arn = key_arn_from(key_store, settings.key_store_stack)

    storage = encrypted_bucket(f"{name}-data", key_arn)
    ebs = None
    if settings.manage_ebs_encryption:
        ebs = ebs_default_encryption(name, key_arn)
    return AppStack(key_store, key_arn, storage, ebs)
