"""The private admin instance that runs `cloudhsm-cli`, reached only through SSM.

It has no inbound rules and no public address. Its role may read exactly the
two password secrets; its user data installs the Client SDK 5 CLI. It does not
depend on the cluster, so it boots while the cluster and first HSM are made.
The user data assumes an x86_64 instance type (the AL2023 AMI default) and a
route to the internet (created here, or already present in a given VPC).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.network import Network, nth
from stack_config import AL2023_AMI_PARAMETER, StackConfig

# The admin role and instance profile live under this IAM path, so the deployer
# policy can grant IAM changes on the stack's own role and profile only.
IAM_PATH = "/fips-keystore/"
CLOUDHSM_CLI_RPM = (
    "https://s3.amazonaws.com/cloudhsmv2-software/CloudHsmClient/Amzn2023/"
    "cloudhsm-cli-latest.amzn2023.x86_64.rpm"
)
HSM_PORTS = (2223, 2225)

TRUST_ANCHOR_PATH = "/opt/cloudhsm/etc/customerCA.crt"


def user_data(trust_anchor_pem: str | None = None) -> str:
    """Boot script: install the Client SDK 5 CLI, and the trust anchor if known.

    The trust anchor is written at boot only for an adopted or restored
    cluster, which gets no activation step to install it.
    """
    script = [
        "#!/bin/bash",
        "set -euo pipefail",
        f"dnf install -y {CLOUDHSM_CLI_RPM}",
    ]
    if trust_anchor_pem is not None:
        script += [
            f"cat > {TRUST_ANCHOR_PATH} <<'TRUST_ANCHOR'",
            trust_anchor_pem.strip(),
            "TRUST_ANCHOR",
        ]
    return "\n".join(script) + "\n"


class AdminClient(pulumi.ComponentResource):
    """Instance, identity and security groups of the cluster's admin client."""

    instance_id: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        config: StackConfig,
        network: Network,
        cluster_security_group_id: pulumi.Input[str],
        secret_arns: Sequence[pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fips-keystore:cloudhsm:AdminClient", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = {**config.tags, "fips-keystore:stack": config.stack}

        role, profile, ssm_access = self._identity(name, secret_arns, tags, child)
        group = self._security_groups(
            name, network, cluster_security_group_id, tags, child
        )
        instance = aws.ec2.Instance(
            f"{name}-instance",
            ami=config.ami_id or latest_al2023_ami(self),
            instance_type=config.instance_type,
            subnet_id=nth(network.subnet_ids, 0),
            vpc_security_group_ids=[group.id],
            iam_instance_profile=profile.name,
            associate_public_ip_address=False,
            metadata_options={"http_tokens": "required", "http_endpoint": "enabled"},
            root_block_device={"encrypted": True, "volume_type": "gp3"},
            user_data=user_data(
                None if config.initializes_cluster else config.ca_certificate
            ),
            tags={**tags, "Name": f"fips-keystore-{config.stack}-admin"},
            # Without the SSM policy attached, the agent never registers.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[ssm_access])
            ),
        )

        self.instance_id = instance.id
        self.security_group_id = group.id
        self.role_name = role.name
        self.register_outputs({"instanceId": instance.id, "securityGroupId": group.id})

    def _identity(
        self,
        name: str,
        secret_arns: Sequence[pulumi.Input[str]],
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> tuple[aws.iam.Role, aws.iam.InstanceProfile, aws.iam.RolePolicyAttachment]:
        partition = caller_partition(self)
        role = aws.iam.Role(
            f"{name}-role",
            path=IAM_PATH,
            assume_role_policy=json.dumps(EC2_TRUST_POLICY),
            tags=tags,
            opts=child,
        )
        ssm_access = aws.iam.RolePolicyAttachment(
            f"{name}-ssm",
            role=role.name,
            policy_arn=partition.apply(
                lambda p: f"arn:{p}:iam::aws:policy/AmazonSSMManagedInstanceCore"
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-read-passwords",
            role=role.id,
            policy=pulumi.Output.all(*secret_arns).apply(read_secrets_policy),
            opts=child,
        )
        profile = aws.iam.InstanceProfile(
            f"{name}-profile", path=IAM_PATH, role=role.name, tags=tags, opts=child
        )
        return role, profile, ssm_access

    def _security_groups(
        self,
        name: str,
        network: Network,
        cluster_security_group_id: pulumi.Input[str],
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> aws.ec2.SecurityGroup:
        """Client group: no ingress; egress HTTPS and the HSM ports only."""
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=network.vpc_id,
            description="fips-keystore admin client: no ingress, SSM only",
            tags=tags,
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress-https",
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            description="SSM, Secrets Manager and the CloudHSM client download",
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress-hsm",
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=HSM_PORTS[0],
            to_port=HSM_PORTS[1],
            referenced_security_group_id=cluster_security_group_id,
            description="cloudhsm-cli to the HSMs",
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-cluster-ingress",
            security_group_id=cluster_security_group_id,
            ip_protocol="tcp",
            from_port=HSM_PORTS[0],
            to_port=HSM_PORTS[1],
            referenced_security_group_id=group.id,
            description="fips-keystore admin client",
            opts=child,
        )
        return group


EC2_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def read_secrets_policy(secret_arns: list[str]) -> str:
    """An inline policy reading exactly the given secrets and nothing else."""
    statement = {
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": sorted(secret_arns),
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def caller_partition(parent: pulumi.Resource) -> pulumi.Output[str]:
    """The partition (aws, aws-us-gov, aws-cn) of the deploying identity."""
    identity = aws.get_caller_identity_output(
        opts=pulumi.InvokeOutputOptions(parent=parent)
    )
    return identity.arn.apply(lambda arn: arn.split(":")[1])


def latest_al2023_ami(parent: pulumi.Resource) -> pulumi.Output[str]:
    parameter = aws.ssm.get_parameter_output(
        name=AL2023_AMI_PARAMETER, opts=pulumi.InvokeOutputOptions(parent=parent)
    )
    return parameter.value
