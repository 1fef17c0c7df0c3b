"""The network the cluster and the admin instance live in: given or created.

Given a VPC, its subnets are checked (same VPC, distinct availability zones)
before the cluster is made. Created, it holds one private subnet per
availability zone and one public subnet whose NAT gateway lets the admin
instance reach SSM, Secrets Manager and the CloudHSM client download.
A given VPC must already route the admin instance's subnet to those endpoints.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import NamedTuple

import pulumi
import pulumi_aws as aws

from components.errors import NetworkError
from stack_config import StackConfig

# Room for up to 6 private subnets and the public one, whatever the VPC size.
SUBNET_PREFIX_EXTRA_BITS = 4


class Network(pulumi.ComponentResource):
    """Private subnets in distinct availability zones, with egress for the client."""

    vpc_id: pulumi.Output[str]
    subnet_ids: pulumi.Output[list[str]]
    availability_zones: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        config: StackConfig,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fips-keystore:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        if config.vpc_id is None:
            self._create_network(name, config, child)
        else:
            self._use_given_network(config)

        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "subnetIds": self.subnet_ids,
                "availabilityZones": self.availability_zones,
            }
        )

    def _use_given_network(self, config: StackConfig) -> None:
        vpc_id = config.vpc_id
        assert vpc_id is not None
        # Asked synchronously: a bad subnet stops the program before any resource
        # is declared, so nothing is created (even with `up --skip-preview`).
        subnets = [self._given_subnet(subnet_id) for subnet_id in config.subnet_ids]
        pairs = checked_subnets(vpc_id, subnets)
        self.vpc_id = pulumi.Output.from_input(vpc_id)
        self.subnet_ids = pulumi.Output.from_input([s for s, _ in pairs])
        self.availability_zones = pulumi.Output.from_input([z for _, z in pairs])

    def _given_subnet(self, subnet_id: str) -> aws.ec2.GetSubnetResult:
        try:
            return aws.ec2.get_subnet(
                id=subnet_id, opts=pulumi.InvokeOptions(parent=self)
            )
        except Exception as error:  # a failed invoke raises a plain Exception
            raise NetworkError(
                f"subnetIds holds {subnet_id}, which AWS could not find in this "
                f"account and Region ({error}). Check it with `aws ec2 "
                f"describe-subnets --subnet-ids {subnet_id}` and aws:region, then "
                "set the right ids with `pulumi config set --path 'subnetIds[0]' "
                "subnet-...`."
            ) from error

    def _create_network(
        self, name: str, config: StackConfig, child: pulumi.ResourceOptions
    ) -> None:
        zones = available_zones(config.private_subnet_count, self)
        blocks = subnet_blocks(config.vpc_cidr, config.private_subnet_count)
        tags = {**config.tags, "fips-keystore:stack": config.stack}

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=config.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": f"fips-keystore-{config.stack}"},
            opts=child,
        )

        private_subnets = [
            aws.ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                cidr_block=block,
                availability_zone=nth(zones, index),
                map_public_ip_on_launch=False,
                tags={**tags, "Name": f"fips-keystore-{config.stack}-private-{index}"},
                opts=child,
            )
            for index, block in enumerate(blocks.private)
        ]

        nat_gateway = self._egress(name, vpc, blocks.public, zones, tags, child)
        self._private_routes(name, vpc, private_subnets, nat_gateway, tags, child)

        self.vpc_id = vpc.id
        self.subnet_ids = pulumi.Output.all(*[s.id for s in private_subnets])
        self.availability_zones = pulumi.Output.all(
            *[s.availability_zone for s in private_subnets]
        )

    def _egress(
        self,
        name: str,
        vpc: aws.ec2.Vpc,
        public_block: str,
        zones: pulumi.Output[list[str]],
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> aws.ec2.NatGateway:
        """One NAT gateway in one public subnet.

        Chosen over VPC interface endpoints: SSM needs three endpoints and
        Secrets Manager one (about 4 x $7.30 a month per AZ), while one NAT
        gateway costs about $32 a month and also reaches the CloudHSM client
        RPM on S3 in us-east-1, which an S3 gateway endpoint in another
        Region cannot.
        """
        public_subnet = aws.ec2.Subnet(
            f"{name}-public",
            vpc_id=vpc.id,
            cidr_block=public_block,
            availability_zone=nth(zones, 0),
            map_public_ip_on_launch=False,
            tags={**tags, "Name": "fips-keystore-public"},
            opts=child,
        )
        gateway = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags=tags, opts=child
        )
        public_routes = aws.ec2.RouteTable(
            f"{name}-public-routes", vpc_id=vpc.id, tags=tags, opts=child
        )
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_routes.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=gateway.id,
            opts=child,
        )
        aws.ec2.RouteTableAssociation(
            f"{name}-public-association",
            subnet_id=public_subnet.id,
            route_table_id=public_routes.id,
            opts=child,
        )

        address = aws.ec2.Eip(
            f"{name}-nat-address", domain="vpc", tags=tags, opts=child
        )
        return aws.ec2.NatGateway(
            f"{name}-nat",
            allocation_id=address.id,
            subnet_id=public_subnet.id,
            tags=tags,
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[gateway])
            ),
        )

    def _private_routes(
        self,
        name: str,
        vpc: aws.ec2.Vpc,
        private_subnets: Sequence[aws.ec2.Subnet],
        nat_gateway: aws.ec2.NatGateway,
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> None:
        private_routes = aws.ec2.RouteTable(
            f"{name}-private-routes", vpc_id=vpc.id, tags=tags, opts=child
        )
        aws.ec2.Route(
            f"{name}-private-default",
            route_table_id=private_routes.id,
            destination_cidr_block="0.0.0.0/0",
            nat_gateway_id=nat_gateway.id,
            opts=child,
        )
        for index, subnet in enumerate(private_subnets):
            aws.ec2.RouteTableAssociation(
                f"{name}-private-association-{index}",
                subnet_id=subnet.id,
                route_table_id=private_routes.id,
                opts=child,
            )


class SubnetBlocks(NamedTuple):
    """CIDR blocks carved from the VPC block: private ones first, public last."""

    private: list[str]
    public: str


def subnet_blocks(vpc_cidr: str, private_count: int) -> SubnetBlocks:
    network = ipaddress.ip_network(vpc_cidr)
    blocks = [
        str(block) for block in network.subnets(prefixlen_diff=SUBNET_PREFIX_EXTRA_BITS)
    ]
    return SubnetBlocks(blocks[:private_count], blocks[-1])


def nth(items: pulumi.Output[list[str]], index: int) -> pulumi.Output[str]:
    return items.apply(lambda values: values[index])


def available_zones(count: int, parent: pulumi.Resource) -> pulumi.Output[list[str]]:
    """The first `count` standard availability zones of the Region, or an error.

    Asked synchronously, so a Region with too few zones stops the program
    before any resource is declared.
    """
    zones = aws.get_availability_zones(
        state="available",
        filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
        opts=pulumi.InvokeOptions(parent=parent),
    )
    return pulumi.Output.from_input(enough_zones(sorted(zones.names), count))


def enough_zones(names: list[str], count: int) -> list[str]:
    if len(names) < count:
        raise NetworkError(
            f"The Region has {len(names)} available availability zone(s) "
            f"({', '.join(names) or 'none'}) but the stack needs {count}, one per "
            "HSM. Lower hsmCount with `pulumi config set hsmCount "
            f"{max(len(names), 2)}` or choose another Region with "
            "`pulumi config set aws:region <region>`."
        )
    return names[:count]


def checked_subnets(
    vpc_id: str, subnets: Sequence[aws.ec2.GetSubnetResult]
) -> list[tuple[str, str]]:
    """(subnet id, availability zone) pairs, after checking VPC and distinct AZs."""
    foreign = [s.id for s in subnets if s.vpc_id != vpc_id]
    if foreign:
        raise NetworkError(
            f"subnetIds {', '.join(foreign)} are not in vpcId {vpc_id}. Set "
            "subnets of that VPC with `pulumi config set --path 'subnetIds[0]' "
            "subnet-...` or change vpcId."
        )

    seen: dict[str, str] = {}
    for subnet in subnets:
        zone = subnet.availability_zone
        if zone in seen:
            raise NetworkError(
                f"subnetIds {seen[zone]} and {subnet.id} are both in availability "
                f"zone {zone}; CloudHSM needs each HSM in a different zone. Replace "
                "one of them with `pulumi config set --path 'subnetIds[N]' "
                "subnet-...` naming a subnet in another zone."
            )
        seen[zone] = subnet.id
    return [(s.id, s.availability_zone) for s in subnets]
