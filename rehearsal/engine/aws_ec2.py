"""EC2 network, security group and instance types for the rehearsal adapter."""

import base64
import zlib
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

_GONE_CODES = (
    "InvalidVpcID.NotFound",
    "InvalidSubnetID.NotFound",
    "InvalidInternetGatewayID.NotFound",
    "InvalidAllocationID.NotFound",
    "NatGatewayNotFound",
    "InvalidRouteTableID.NotFound",
    "InvalidAssociationID.NotFound",
    "InvalidGroup.NotFound",
    "InvalidSecurityGroupRuleId.NotFound",
    "InvalidInstanceID.NotFound",
)


def _tag_spec(kind: str, inputs: Outputs) -> list[dict[str, Any]]:
    tags = tags_of(inputs)
    return [{"ResourceType": kind, "Tags": tags}] if tags else []


def _ec2_arn(ctx: AwsContext, kind: str, id_: str) -> str:
    return f"arn:aws:ec2:{ctx.region}:123456789012:{kind}/{id_}"


def _absent(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in _GONE_CODES


def _describe_one(call: Any, key: str, **params: Any) -> dict[str, Any] | None:
    try:
        items = call(**params)[key]
    except ClientError as error:
        if _absent(error):
            return None
        raise
    return items[0] if items else None


# VPC


def _create_vpc(ctx: AwsContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    ec2 = ctx.client("ec2")
    vpc = ec2.create_vpc(
        CidrBlock=inputs["cidrBlock"], TagSpecifications=_tag_spec("vpc", inputs)
    )["Vpc"]
    vpc_id = vpc["VpcId"]

    for attribute in ("enableDnsSupport", "enableDnsHostnames"):
        if attribute in inputs:
            pascal = attribute[0].upper() + attribute[1:]
            ec2.modify_vpc_attribute(
                VpcId=vpc_id, **{pascal: {"Value": bool(inputs[attribute])}}
            )
    return vpc_id, _vpc_outputs(ctx, vpc_id)


def _vpc_outputs(ctx: AwsContext, vpc_id: str) -> Outputs:
    ec2 = ctx.client("ec2")
    groups = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"]
    tables = ec2.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"]
    return {
        "arn": _ec2_arn(ctx, "vpc", vpc_id),
        "defaultSecurityGroupId": groups[0]["GroupId"] if groups else None,
        "mainRouteTableId": tables[0]["RouteTableId"] if tables else None,
        "ownerId": "123456789012",
    }


def _read_vpc(ctx: AwsContext, id_: str, _outputs: Outputs) -> Outputs | None:
    vpc = _describe_one(ctx.client("ec2").describe_vpcs, "Vpcs", VpcIds=[id_])
    return None if vpc is None else {"cidrBlock": vpc["CidrBlock"]}


def _delete_vpc(ctx: AwsContext, id_: str, _outputs: Outputs) -> Deletion:
    ctx.client("ec2").delete_vpc(VpcId=id_)
    return Deletion()


# Subnet


def _create_subnet(ctx: AwsContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    ec2 = ctx.client("ec2")
    params: dict[str, Any] = {
        "VpcId": inputs["vpcId"],
        "CidrBlock": inputs["cidrBlock"],
    }
    if inputs.get("availabilityZone"):
        params["AvailabilityZone"] = inputs["availabilityZone"]
    elif inputs.get("availabilityZoneId"):
        params["AvailabilityZoneId"] = inputs["availabilityZoneId"]
    subnet = ec2.create_subnet(**params, TagSpecifications=_tag_spec("subnet", inputs))[
        "Subnet"
    ]

    if inputs.get("mapPublicIpOnLaunch"):
        ec2.modify_subnet_attribute(
            SubnetId=subnet["SubnetId"], MapPublicIpOnLaunch={"Value": True}
        )
    return subnet["SubnetId"], _subnet_outputs(ctx, subnet)


def _subnet_outputs(ctx: AwsContext, subnet: dict[str, Any]) -> Outputs:
    return {
        "arn": _ec2_arn(ctx, "subnet", subnet["SubnetId"]),
        "availabilityZone": subnet["AvailabilityZone"],
        "availabilityZoneId": subnet.get("AvailabilityZoneId"),
        "cidrBlock": subnet["CidrBlock"],
        "vpcId": subnet["VpcId"],
    }


def _read_subnet(ctx: AwsContext, id_: str, _outputs: Outputs) -> Outputs | None:
    subnet = _describe_one(
        ctx.client("ec2").describe_subnets, "Subnets", SubnetIds=[id_]
    )
    return None if subnet is None else _subnet_outputs(ctx, subnet)


def _delete_subnet(ctx: AwsContext, id_: str, _outputs: Outputs) -> Deletion:
    ctx.client("ec2").delete_subnet(SubnetId=id_)
    return Deletion()


# Internet gateway


def _create_igw(ctx: AwsContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    ec2 = ctx.client("ec2")
    gateway = ec2.create_internet_gateway(
        TagSpecifications=_tag_spec("internet-gateway", inputs)
    )["InternetGateway"]
    gateway_id = gateway["InternetGatewayId"]

    if inputs.get("vpcId"):
        ec2.attach_internet_gateway(InternetGatewayId=gateway_id, VpcId=inputs["vpcId"])
    return gateway_id, {"arn": _ec2_arn(ctx, "internet-gateway", gateway_id)}


def _read_igw(ctx: AwsContext, id_: str, _outputs: Outputs) -> Outputs | None:
    gateway = _describe_one(
        ctx.client("ec2").describe_internet_gateways,
        "InternetGateways",
        InternetGatewayIds=[id_],
    )
    if gateway is None:
        return None
    attached = [a["VpcId"] for a in gateway.get("Attachments", [])]
    return {"vpcId": attached[0] if attached else None}


def _delete_igw(ctx: AwsContext, id_: str, outputs: Outputs) -> Deletion:
    ec2 = ctx.client("ec2")
    if outputs.get("vpcId"):
        ec2.detach_internet_gateway(InternetGatewayId=id_, VpcId=outputs["vpcId"])
    ec2.delete_internet_gateway(InternetGatewayId=id_)
    return Deletion()


# Elastic IP


def _create_eip(ctx: AwsContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    address = ctx.client("ec2").allocate_address(
        Domain=inputs.get("domain") or "vpc",
        TagSpecifications=_tag_spec("elastic-ip", inputs),
    )
    allocation_id = address["AllocationId"]
    return allocation_id, {
        "allocationId": allocation_id,
        "publicIp": address["PublicIp"],
        "domain": address.get("Domain", "vpc"),
    }


def _read_eip(ctx: AwsContext, id_: str, _outputs: Outputs) -> Outputs | None:
    address = _describe_one(
        ctx.client("ec2").describe_addresses, "Addresses", AllocationIds=[id_]
    )
    return None if address is None else {"publicIp": address["PublicIp"]}


def _delete_eip(ctx: AwsContext, id_: str, _outputs: Outputs) -> Deletion:
    ctx.client("ec2").release_address(AllocationId=id_)
    return Deletion()


# NAT gateway


def _nat_state(ctx: AwsContext, id_: str) -> str:
    gateway = _describe_one(
        ctx.client("ec2").describe_nat_gateways, "NatGateways", NatGatewayIds=[id_]
    )
    return "deleted" if gateway is None else str(gateway["State"])


def _create_nat(ctx: AwsContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    params: dict[str, Any] = {"SubnetId": inputs["subnetId"]}
    if inputs.get("allocationId"):
        params["AllocationId"] = inputs["allocationId"]
    if inputs.get("connectivityType"):
        params["ConnectivityType"] = inputs["connectivityType"]
    gateway = ctx.client("ec2").create_nat_gateway(
        **params, TagSpecifications=_tag_spec("natgateway", inputs)
    )["NatGateway"]
    gateway_id = gateway["NatGatewayId"]

    ctx.wait(
        lambda: _nat_state(ctx, gateway_id),
        done=("available",),
        failed=("failed", "deleted"),
        resource=f"NAT gateway {gateway_id} ({name})",
        expected_seconds=60,
    )
    return gateway_id, _nat_outputs(ctx, gateway_id) or {}


def _nat_outputs(ctx: AwsContext, id_: str) -> Outputs | None:
    gateway = _describe_one(
        ctx.client("ec2").describe_nat_gateways, "NatGateways", NatGatewayIds=[id_]
    )
    if gateway is None or gateway["State"] in ("deleted", "deleting"):
        return None
    addresses = gateway.get("NatGatewayAddresses") or [{}]
    return {
        "subnetId": gateway["SubnetId"],
        "publicIp": addresses[0].get("PublicIp"),
        "privateIp": addresses[0].get("PrivateIp"),
        "networkInterfaceId": addresses[0].get("NetworkInterfaceId"),
    }


def _read_nat(ctx: AwsContext, id_: str, _outputs: Outputs) -> Outputs | None:
    return _nat_outputs(ctx, id_)


def _delete_nat(ctx: AwsContext, id_: str, _outputs: Outputs) -> Deletion:
    ctx.client("ec2").delete_nat_gateway(NatGatewayId=id_)
    ctx.wait(
        lambda: _nat_state(ctx, id_),
        done=("deleted",),
        resource=f"NAT gateway {id_}",
        expected_seconds=60,
    )
    return Deletion()


# Route table, route, association


def _route_params(route: Outputs) -> dict[str, Any]:
    params = {
        "DestinationCidrBlock": route.get("cidrBlock") or route["destinationCidrBlock"]
    }
    for key, pascal in (("gatewayId", "GatewayId"), ("natGatewayId", "NatGatewayId")):
        if route.get(key):
            params[pascal] = route[key]
    return params


def _create_table(ctx: AwsContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    ec2 = ctx.client("ec2")
    table = ec2.create_route_table(
        VpcId=inputs["vpcId"], TagSpecifications=_tag_spec("route-table", inputs)
    )["RouteTable"]
    table_id = table["RouteTableId"]

    for route in inputs.get("routes") or []:
        ec2.create_route(RouteTableId=table_id, **_route_params(route))
    return table_id, {
        "arn": _ec2_arn(ctx, "route-table", table_id),
        "ownerId": "123456789012",
    }


def _describe_table(ctx: AwsContext, table_id: str) -> dict[str, Any] | None:
    return _describe_one(
        ctx.client("ec2").describe_route_tables, "RouteTables", RouteTableIds=[table_id]
    )


def _read_table(ctx: AwsContext, id_: str, _outputs: Outputs) -> Outputs | None:
    return None if _describe_table(ctx, id_) is None else {}


def _delete_table(ctx: AwsContext, id_: str, _outputs: Outputs) -> Deletion:
    ctx.client("ec2").delete_route_table(RouteTableId=id_)
    return Deletion()


def _create_route(ctx: AwsContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    table_id = inputs["routeTableId"]
    ctx.client("ec2").create_route(RouteTableId=table_id, **_route_params(inputs))
    # pulumi-aws ids a route by its table and a hash of its destination.
    checksum = zlib.crc32(inputs["destinationCidrBlock"].encode())
    return f"r-{table_id}{checksum}", {"state": "active", "origin": "CreateRoute"}


def _read_route(ctx: AwsContext, _id: str, outputs: Outputs) -> Outputs | None:
    table = _describe_table(ctx, outputs["routeTableId"])
    routes = table.get("Routes", []) if table else []
    wanted = outputs["destinationCidrBlock"]
    return {} if any(r.get("DestinationCidrBlock") == wanted for r in routes) else None


def _delete_route(ctx: AwsContext, _id: str, outputs: Outputs) -> Deletion:
    ctx.client("ec2").delete_route(
        RouteTableId=outputs["routeTableId"],
        DestinationCidrBlock=outputs["destinationCidrBlock"],
    )
    return Deletion()


def _create_association(
    ctx: AwsContext, _name: str, inputs: Outputs
) -> tuple[str, Outputs]:
    target = (
        {"SubnetId": inputs["subnetId"]}
        if inputs.get("subnetId")
        else {"GatewayId": inputs["gatewayId"]}
    )
    reply = ctx.client("ec2").associate_route_table(
        RouteTableId=inputs["routeTableId"], **target
    )
    return reply["AssociationId"], {}


def _read_association(ctx: AwsContext, id_: str, outputs: Outputs) -> Outputs | None:
    table = _describe_table(ctx, outputs["routeTableId"])
    associations = table.get("Associations", []) if table else []
    return (
        {} if any(a["RouteTableAssociationId"] == id_ for a in associations) else None
    )


def _delete_association(ctx: AwsContext, id_: str, _outputs: Outputs) -> Deletion:
    ctx.client("ec2").disassociate_route_table(AssociationId=id_)
    return Deletion()


# Security group and rules


def _permission(rule: Outputs) -> dict[str, Any]:
    permission: dict[str, Any] = {
        "IpProtocol": str(rule.get("protocol") or rule.get("ipProtocol"))
    }
    if permission["IpProtocol"] != "-1":
        permission["FromPort"] = int(rule["fromPort"])
        permission["ToPort"] = int(rule["toPort"])
    cidrs = rule.get("cidrBlocks") or (
        [rule["cidrIpv4"]] if rule.get("cidrIpv4") else []
    )
    groups = rule.get("securityGroups") or (
        [rule["referencedSecurityGroupId"]]
        if rule.get("referencedSecurityGroupId")
        else []
    )
    description = (
        {"Description": rule["description"]} if rule.get("description") else {}
    )
    permission["IpRanges"] = [{"CidrIp": cidr, **description} for cidr in cidrs]
    permission["UserIdGroupPairs"] = [
        {"GroupId": group, **description} for group in groups
    ]
    return permission


def _create_group(ctx: AwsContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    ec2 = ctx.client("ec2")
    group_name = auto_name(inputs, name, stack=ctx.stack, moment=ctx.clock.now())
    group_id = ec2.create_security_group(
        GroupName=group_name,
        Description=inputs.get("description") or "Managed by Pulumi",
        VpcId=inputs["vpcId"],
        TagSpecifications=_tag_spec("security-group", inputs),
    )["GroupId"]

    # Like pulumi-aws: the default allow-all egress goes; only declared rules stay.
    ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=[_ALL_EGRESS])
    for rule in inputs.get("ingress") or []:
        ec2.authorize_security_group_ingress(
            GroupId=group_id, IpPermissions=[_permission(rule)]
        )
    for rule in inputs.get("egress") or []:
        ec2.authorize_security_group_egress(
            GroupId=group_id, IpPermissions=[_permission(rule)]
        )
    return group_id, {
        "name": group_name,
        "arn": _ec2_arn(ctx, "security-group", group_id),
        "ownerId": "123456789012",
    }


_ALL_EGRESS = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def _read_group(ctx: AwsContext, id_: str, _outputs: Outputs) -> Outputs | None:
    group = _describe_one(
        ctx.client("ec2").describe_security_groups, "SecurityGroups", GroupIds=[id_]
    )
    return None if group is None else {"name": group["GroupName"]}


def _delete_group(ctx: AwsContext, id_: str, _outputs: Outputs) -> Deletion:
    ctx.client("ec2").delete_security_group(GroupId=id_)
    return Deletion()


def _rule_kind(direction: str) -> ResourceKind:
    def create(ctx: AwsContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
        ec2 = ctx.client("ec2")
        authorize = getattr(ec2, f"authorize_security_group_{direction}")
        reply = authorize(
            GroupId=inputs["securityGroupId"], IpPermissions=[_permission(inputs)]
        )
        rule_id = reply["SecurityGroupRules"][0]["SecurityGroupRuleId"]
        arn = _ec2_arn(ctx, "security-group-rule", rule_id)
        return rule_id, {"securityGroupRuleId": rule_id, "arn": arn}

    def read(ctx: AwsContext, id_: str, _outputs: Outputs) -> Outputs | None:
        rule = _describe_one(
            ctx.client("ec2").describe_security_group_rules,
            "SecurityGroupRules",
            SecurityGroupRuleIds=[id_],
        )
        return None if rule is None else {"securityGroupRuleId": id_}

    def delete(ctx: AwsContext, id_: str, outputs: Outputs) -> Deletion:
        revoke = getattr(ctx.client("ec2"), f"revoke_security_group_{direction}")
        revoke(GroupId=outputs["securityGroupId"], SecurityGroupRuleIds=[id_])
        return Deletion()

    return ResourceKind(create, read, delete)


# Instance


def _instance_state(ctx: AwsContext, id_: str) -> str:
    reservation = _describe_one(
        ctx.client("ec2").describe_instances, "Reservations", InstanceIds=[id_]
    )
    if reservation is None or not reservation["Instances"]:
        return "terminated"
    return str(reservation["Instances"][0]["State"]["Name"])


def _instance_params(inputs: Outputs) -> dict[str, Any]:
    params: dict[str, Any] = {
        "ImageId": inputs["ami"],
        "InstanceType": inputs["instanceType"],
        "MinCount": 1,
        "MaxCount": 1,
    }
    optional = {
        "subnetId": ("SubnetId", lambda v: v),
        "vpcSecurityGroupIds": ("SecurityGroupIds", list),
        "iamInstanceProfile": ("IamInstanceProfile", lambda v: {"Name": v}),
        "userData": ("UserData", lambda v: v),
        "userDataBase64": ("UserData", lambda v: base64.b64decode(v).decode()),
        "metadataOptions": ("MetadataOptions", _pascal_keys),
    }
    for key, (pascal, convert) in optional.items():
        if inputs.get(key):
            params[pascal] = convert(inputs[key])
    return params


def _pascal_keys(value: dict[str, Any]) -> dict[str, Any]:
    return {
        key[0].upper() + key[1:]: item
        for key, item in value.items()
        if item is not None
    }


def _create_instance(
    ctx: AwsContext, name: str, inputs: Outputs
) -> tuple[str, Outputs]:
    params = _instance_params(inputs)
    tags = _tag_spec("instance", inputs)
    instance = ctx.client("ec2").run_instances(**params, TagSpecifications=tags)[
        "Instances"
    ][0]
    instance_id = instance["InstanceId"]

    ctx.wait(
        lambda: _instance_state(ctx, instance_id),
        done=("running",),
        failed=("terminated", "shutting-down", "stopped"),
        resource=f"instance {instance_id} ({name})",
        expected_seconds=30,
    )
    return instance_id, _read_instance(ctx, instance_id, inputs) or {}


def _read_instance(ctx: AwsContext, id_: str, _outputs: Outputs) -> Outputs | None:
    reservation = _describe_one(
        ctx.client("ec2").describe_instances, "Reservations", InstanceIds=[id_]
    )
    instance = reservation["Instances"][0] if reservation else None
    if instance is None or instance["State"]["Name"] == "terminated":
        return None
    return {
        "arn": _ec2_arn(ctx, "instance", id_),
        "privateIp": instance.get("PrivateIpAddress"),
        "privateDns": instance.get("PrivateDnsName"),
        "publicIp": instance.get("PublicIpAddress"),
        "availabilityZone": instance["Placement"]["AvailabilityZone"],
        "instanceState": instance["State"]["Name"],
        "subnetId": instance.get("SubnetId"),
        "primaryNetworkInterfaceId": (instance.get("NetworkInterfaces") or [{}])[0].get(
            "NetworkInterfaceId"
        ),
    }


def _delete_instance(ctx: AwsContext, id_: str, _outputs: Outputs) -> Deletion:
    ctx.client("ec2").terminate_instances(InstanceIds=[id_])
    ctx.wait(
        lambda: _instance_state(ctx, id_),
        done=("terminated",),
        resource=f"instance {id_}",
        expected_seconds=30,
    )
    return Deletion()


KINDS = {
    "aws:ec2/vpc:Vpc": ResourceKind(_create_vpc, _read_vpc, _delete_vpc),
    "aws:ec2/subnet:Subnet": ResourceKind(_create_subnet, _read_subnet, _delete_subnet),
    "aws:ec2/internetGateway:InternetGateway": ResourceKind(
        _create_igw, _read_igw, _delete_igw
    ),
    "aws:ec2/eip:Eip": ResourceKind(_create_eip, _read_eip, _delete_eip),
    "aws:ec2/natGateway:NatGateway": ResourceKind(_create_nat, _read_nat, _delete_nat),
    "aws:ec2/routeTable:RouteTable": ResourceKind(
        _create_table, _read_table, _delete_table
    ),
    "aws:ec2/route:Route": ResourceKind(_create_route, _read_route, _delete_route),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ResourceKind(
        _create_association, _read_association, _delete_association
    ),
    "aws:ec2/securityGroup:SecurityGroup": ResourceKind(
        _create_group, _read_group, _delete_group
    ),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _rule_kind("ingress"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _rule_kind("egress"),
    "aws:ec2/instance:Instance": ResourceKind(
        _create_instance, _read_instance, _delete_instance
    ),
}
