"""The data sources the program calls, answered from the emulator."""

from collections.abc import Callable
from typing import Any

from rehearsal.engine.aws_adapter import AwsContext, Outputs
from rehearsal.engine.errors import UnsupportedResourceError


def _caller_identity(ctx: AwsContext, _args: Outputs) -> Outputs:
    identity = ctx.client("sts").get_caller_identity()
    return {
        "accountId": identity["Account"],
        "arn": identity["Arn"],
        "userId": identity["UserId"],
        "id": identity["Account"],
    }


def _region(ctx: AwsContext, args: Outputs) -> Outputs:
    region = args.get("region") or args.get("name") or ctx.region
    return {
        "name": region,
        "region": region,
        "id": region,
        "endpoint": f"ec2.{region}.amazonaws.com",
        "description": region,
    }


def _availability_zones(ctx: AwsContext, args: Outputs) -> Outputs:
    filters = (
        [{"Name": "state", "Values": [args["state"]]}] if args.get("state") else []
    )
    zones = ctx.client("ec2").describe_availability_zones(Filters=filters)
    zones = sorted(zones["AvailabilityZones"], key=lambda zone: zone["ZoneName"])
    return {
        "id": ctx.region,
        "names": [zone["ZoneName"] for zone in zones],
        "zoneIds": [zone["ZoneId"] for zone in zones],
        "groupNames": [zone.get("GroupName", ctx.region) for zone in zones],
        "state": args.get("state"),
    }


def _subnet(ctx: AwsContext, args: Outputs) -> Outputs:
    params: dict[str, Any] = {}
    if args.get("id"):
        params["SubnetIds"] = [args["id"]]
    if args.get("filters"):
        params["Filters"] = [
            {"Name": item["name"], "Values": list(item["values"])}
            for item in args["filters"]
        ]
    subnets = ctx.client("ec2").describe_subnets(**params)["Subnets"]
    if len(subnets) != 1:
        raise UnsupportedResourceError(
            f"getSubnet({args}) matched {len(subnets)} subnets in the emulator; "
            "it must match exactly one. Check the subnet id or filters in the config"
        )
    subnet = subnets[0]
    return {
        "id": subnet["SubnetId"],
        "arn": f"arn:aws:ec2:{ctx.region}:123456789012:subnet/{subnet['SubnetId']}",
        "availabilityZone": subnet["AvailabilityZone"],
        "availabilityZoneId": subnet.get("AvailabilityZoneId"),
        "cidrBlock": subnet["CidrBlock"],
        "vpcId": subnet["VpcId"],
        "mapPublicIpOnLaunch": subnet.get("MapPublicIpOnLaunch", False),
        "state": subnet.get("State"),
    }


def _parameter(ctx: AwsContext, args: Outputs) -> Outputs:
    parameter = ctx.client("ssm").get_parameter(
        Name=args["name"], WithDecryption=bool(args.get("withDecryption", True))
    )["Parameter"]
    return {
        "id": parameter["Name"],
        "name": parameter["Name"],
        "arn": parameter.get("ARN"),
        "type": parameter["Type"],
        "value": parameter["Value"],
        "insecureValue": parameter["Value"],
        "version": parameter.get("Version"),
    }


def _cloudhsm_cluster(ctx: AwsContext, args: Outputs) -> Outputs:
    # Like pulumi-aws: an unknown id (or one not in the asked-for state) fails.
    from rehearsal.engine.aws_hsm import cluster_outputs

    clusters = ctx.client("cloudhsmv2").describe_clusters(
        Filters={"clusterIds": [args["clusterId"]]}
    )["Clusters"]
    wanted = args.get("clusterState")
    found = [c for c in clusters if wanted in (None, c["State"])]
    if not found:
        state = f" in state {wanted}" if wanted else ""
        raise UnsupportedResourceError(
            f"getCluster: no CloudHSM cluster {args['clusterId']}{state} in the "
            "emulator. Check clusterId in the stack config (DescribeClusters lists "
            "the clusters)"
        )
    return {**cluster_outputs(found[0]), "id": found[0]["ClusterId"]}


INVOKES: dict[str, Callable[[AwsContext, Outputs], Outputs]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getRegion:getRegion": _region,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:ec2/getSubnet:getSubnet": _subnet,
    "aws:ssm/getParameter:getParameter": _parameter,
    "aws:cloudhsmv2/getCluster:getCluster": _cloudhsm_cluster,
}
