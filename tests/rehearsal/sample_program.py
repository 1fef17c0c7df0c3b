"""A small program for the engine's tests: a few pulumi-aws resources and a Note."""

from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from tests.rehearsal.sample_providers import Note


def sample_program(
    directory: str, protect_key: bool = False, with_bucket: bool = False
) -> Callable[[], Mapping[str, Any]]:
    """The program: network bits, a secret fed by a dynamic resource, a key."""

    def program() -> Mapping[str, Any]:
        zones = aws.get_availability_zones(state="available")
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
        subnet = aws.ec2.Subnet(
            "subnet",
            vpc_id=vpc.id,
            cidr_block="10.0.1.0/24",
            availability_zone=zones.names[0],
        )
        group = aws.ec2.SecurityGroup("group", vpc_id=vpc.id, description="sample")
        note = Note(
            "note",
            {
                "directory": directory,
                "title": "n",
                "text": pulumi.Output.secret("hello"),
            },
            pulumi.ResourceOptions(depends_on=[group]),
        )
        secret = aws.secretsmanager.Secret("secret", recovery_window_in_days=0)
        aws.secretsmanager.SecretVersion(
            "version", secret_id=secret.id, secret_string=note.token
        )
        key = aws.kms.Key(
            "key",
            deletion_window_in_days=7,
            opts=pulumi.ResourceOptions(protect=protect_key),
        )
        aws.kms.Alias("alias", name="alias/sample", target_key_id=key.key_id)
        if with_bucket:
            aws.s3.Bucket("logs", opts=pulumi.ResourceOptions(depends_on=[note]))
        return {
            "subnetId": subnet.id,
            "noteLength": note.length,
            "token": note.token,
            "keyId": key.key_id,
        }

    return program
