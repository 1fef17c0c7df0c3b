"""Runs the program under Pulumi mocks and records what it declared.

`evaluate` returns every registered resource (type, name, parent,
dependencies), the options each was declared with (seen by a stack
transformation, since the mock monitor applies none), and the stack outputs
with their secret marking.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import settings
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.sync_await import _sync_await

from components.stack import build
from stack_config import StackConfig

ACCOUNT_ID = "123456789012"
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]
GIVEN_VPC_ID = "vpc-0abc1234"
GIVEN_SUBNETS = {
    "subnet-0aaa1111": (GIVEN_VPC_ID, "us-east-1a"),
    "subnet-0bbb2222": (GIVEN_VPC_ID, "us-east-1b"),
    "subnet-0ccc3333": (GIVEN_VPC_ID, "us-east-1a"),
    "subnet-0ddd4444": ("vpc-0other999", "us-east-1c"),
}
FAKE_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
FAKE_KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"


class CloudMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes with plausible AWS values."""

    def __init__(
        self,
        zones: list[str] | None = None,
        cluster_state: str = "ACTIVE",
        cluster_csr: str | None = None,
    ) -> None:
        self.zones = ZONES if zones is None else zones
        # What getCluster answers for an adopted cluster (`clusterId`).
        self.cluster_state = cluster_state
        self.cluster_csr = cluster_csr
        self.serial = itertools.count(1)
        self.inputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        number = next(self.serial)
        self.inputs[args.name] = dict(args.inputs)
        outputs = dict(args.inputs)
        outputs.update(self._outputs(args.typ, args.inputs, number))
        resource_id = args.resource_id or outputs.pop("_id", f"{args.name}-{number}")
        return resource_id, outputs

    def _outputs(self, typ: str, inputs: dict, number: int) -> dict[str, Any]:
        suffix = f"{number:011d}"
        by_type: dict[str, dict[str, Any]] = {
            "aws:ec2/vpc:Vpc": {"_id": f"vpc-{number:08x}"},
            "aws:ec2/subnet:Subnet": {"_id": f"subnet-{number:08x}"},
            "aws:ec2/securityGroup:SecurityGroup": {"_id": f"sg-{number:08x}"},
            "aws:cloudhsmv2/cluster:Cluster": {
                "_id": f"cluster-{_base32(suffix)}",
                "cluster_id": f"cluster-{_base32(suffix)}",
                "security_group_id": f"sg-{number + 1000:08x}",
                "vpc_id": "vpc-cluster",
                "cluster_state": "UNINITIALIZED",
            },
            "aws:cloudhsmv2/hsm:Hsm": {
                "_id": f"hsm-{_base32(suffix)}",
                "hsm_id": f"hsm-{_base32(suffix)}",
                "ip_address": f"10.42.0.{number}",
                "hsm_state": "ACTIVE",
            },
            "aws:secretsmanager/secret:Secret": {
                "arn": "arn:aws:secretsmanager:us-east-1:"
                f"{ACCOUNT_ID}:secret:{inputs.get('namePrefix', 's')}{number}",
            },
            "aws:ec2/instance:Instance": {"_id": f"i-{number:017x}"},
            "aws:kms/customKeyStore:CustomKeyStore": {"_id": f"cks-{number:017x}"},
            "aws:kms/key:Key": {
                "key_id": f"key-{number}",
                "arn": f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/key-{number}",
            },
            "pulumi-python:dynamic:GeneratedPassword": {"value": f"generated{number}"},
            "pulumi-python:dynamic:CustomerCa": {
                "certificate_pem": inputs.get("supplied_certificate_pem") or FAKE_PEM,
                "private_key_pem": inputs.get("supplied_private_key_pem") or FAKE_KEY,
                "generated": not inputs.get("supplied_certificate_pem"),
            },
            "pulumi-python:dynamic:ClusterCsrSigning": {
                "signed_certificate_pem": FAKE_PEM
            },
        }
        return by_type.get(typ, {})

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict, list[tuple[str, str]] | None]:
        return self._answer(args.token, args.args), []

    def _answer(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        if token == "aws:index/getRegion:getRegion":
            return {"region": "us-east-1", "name": "us-east-1", "id": "us-east-1"}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            arn = f"arn:aws:iam::{ACCOUNT_ID}:user/deployer"
            identity = {
                "accountId": ACCOUNT_ID,
                "arn": arn,
                "userId": "AIDA",
                "id": "x",
            }
            return identity
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": self.zones, "zoneIds": self.zones, "id": "us-east-1"}
        if token == "aws:ec2/getSubnet:getSubnet":
            vpc_id, zone = GIVEN_SUBNETS[args["id"]]
            return {
                "id": args["id"],
                "vpcId": vpc_id,
                "availabilityZone": zone,
            }
        if token == "aws:ssm/getParameter:getParameter":
            return {"name": args["name"], "value": "ami-0123456789abcdef0"}
        if token == "aws:cloudhsmv2/getCluster:getCluster":
            return self._cluster(args["clusterId"])
        raise AssertionError(f"the program called an unexpected invoke {token}")

    def _cluster(self, cluster_id: str) -> dict[str, Any]:
        return {
            "id": cluster_id,
            "clusterId": cluster_id,
            "clusterState": self.cluster_state,
            "securityGroupId": "sg-0cluster0",
            "subnetIds": list(GIVEN_SUBNETS)[:2],
            "vpcId": GIVEN_VPC_ID,
            "clusterCertificates": [{"clusterCsr": self.cluster_csr}],
        }


def _base32(digits: str) -> str:
    """CloudHSM ids use the letters a-z and digits 2-7."""
    return "".join("abcdefghij"[int(d)] for d in digits)


@dataclass
class Registration:
    """One resource as the program declared it to the engine."""

    type: str
    name: str
    urn: str
    parent: str
    dependencies: set[str]
    read: bool = False


class RecordingMonitor(MockMonitor):
    """The mock monitor, keeping each registration's parent and dependencies."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: dict[str, Registration] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC name)
        response = super().RegisterResource(request)
        self._record(request, response.urn, read=False)
        return response

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 (gRPC name)
        response = super().ReadResource(request)
        self._record(request, response.urn, read=True)
        return response

    def _record(self, request: Any, urn: str, read: bool) -> None:
        dependencies = set(getattr(request, "dependencies", []))
        self.registrations[request.name] = Registration(
            request.type, request.name, urn, request.parent, dependencies, read
        )


@dataclass
class DeclaredOptions:
    """The options (and Output inputs) a transformation saw for one resource."""

    type: str
    protect: bool | None
    retain_on_delete: bool | None
    additional_secret_outputs: list[str]
    output_inputs: dict[str, pulumi.Output[Any]] = field(default_factory=dict)
    secret_inputs: set[str] = field(default_factory=set)


@dataclass
class Evaluation:
    """What one run of the program declared and exported."""

    registrations: dict[str, Registration]
    options: dict[str, DeclaredOptions]
    inputs: dict[str, dict[str, Any]]
    outputs: dict[str, Any]
    secret_outputs: set[str] = field(default_factory=set)

    def by_type(self, typ: str) -> list[Registration]:
        return sorted(
            (r for r in self.registrations.values() if r.type == typ),
            key=lambda r: r.name,
        )

    def secret_inputs_of(self, name: str) -> set[str]:
        return self.options[name].secret_inputs

    def urn_of(self, name: str) -> str:
        return self.registrations[name].urn

    def depends_on(self, name: str, other: str) -> bool:
        """True when `name` waits for `other`, directly or through others."""
        target = self.urn_of(other)
        by_urn = {r.urn: r for r in self.registrations.values()}
        seen: set[str] = set()
        pending = list(self.registrations[name].dependencies)
        while pending:
            urn = pending.pop()
            if urn == target:
                return True
            if urn not in seen and urn in by_urn:
                seen.add(urn)
                pending.extend(by_urn[urn].dependencies)
        return False


def evaluate(
    config: StackConfig,
    mocks: CloudMocks | None = None,
    program: Callable[[StackConfig], dict[str, Any]] = build,
) -> Evaluation:
    """Run `program(config)` under mocks and wait for every output."""
    mocks = mocks or CloudMocks()
    monitor = RecordingMonitor(mocks)
    # A fresh root stack, so an earlier evaluation's transformation sees nothing.
    settings.reset_options()
    pulumi.runtime.set_mocks(
        monitor.mocks,
        project="fips-keystore",
        stack=config.stack,
        preview=False,
        monitor=monitor,
    )
    options: dict[str, DeclaredOptions] = {}
    pulumi.runtime.register_stack_transformation(_recorder(options))

    declared: dict[str, Any] = {}

    @pulumi.runtime.test
    def run() -> pulumi.Output[Any]:
        declared.update(program(config))
        present = {k: v for k, v in declared.items() if v is not None}
        return pulumi.Output.all(**present)

    run()
    outputs, secret = _resolved(declared)
    for declared_options in options.values():
        declared_options.secret_inputs = {
            key
            for key, value in declared_options.output_inputs.items()
            if _sync_await(value.is_secret())
        }
    return Evaluation(
        dict(monitor.registrations), options, mocks.inputs, outputs, secret
    )


def _recorder(options: dict[str, DeclaredOptions]) -> Callable[..., None]:
    def record(args: pulumi.ResourceTransformationArgs) -> None:
        opts = args.opts
        options[args.name] = DeclaredOptions(
            args.type_,
            opts.protect,
            opts.retain_on_delete,
            list(opts.additional_secret_outputs or []),
            {
                key: value
                for key, value in args.props.items()
                if isinstance(value, pulumi.Output)
            },
        )

    return record


def _resolved(declared: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    outputs: dict[str, Any] = {}
    secret: set[str] = set()
    for name, value in declared.items():
        if value is None:
            outputs[name] = None
            continue
        output = pulumi.Output.from_input(value)
        outputs[name] = _sync_await(output.future())
        if _sync_await(output.is_secret()):
            secret.add(name)
    return outputs, secret
