"""Every use of moto's internals by the emulator, in one module.

moto's stable surface is the AWS API it serves over HTTP. The emulator also
needs its insides: the backends behind that API (to create ENIs and security
groups for CloudHSM, to read instances for SSM, to add KMS keys to key
stores), a few model attributes it must rewrite (deletion dates on the
simulated clock), its global state (to reset it), and the server class it
wraps. Each function here is one such use and depends on moto 5.2.5's
internals, named in its docstring. tests/emulator/test_moto_internals.py holds
one contract test per function, so a moto upgrade that changes any of them
fails there by name; the rest of the emulator sees only the plain values
defined here. moto is imported inside the functions: importing the emulator
package (as the rehearsal's command line does) must not pay for loading moto.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import EmulatorError

# The moto release these functions were written against (requirements.txt pins it).
MOTO_VERSION = "5.2.5"
# moto's default account (moto.core.DEFAULT_ACCOUNT_ID): boto3 with dummy
# credentials lands in it.
DEFAULT_ACCOUNT_ID = "123456789012"
# moto's ciphertext blob starts with the id of the key that made it.
_KEY_ID_LENGTH = 36

WsgiApp = Callable[..., Iterable[bytes]]


class MotoServiceError(EmulatorError):
    """moto refused a backend call; carries the AWS error to answer with."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Subnet:
    subnet_id: str
    vpc_id: str
    availability_zone: str
    cidr_block: str


@dataclass(frozen=True)
class NetworkInterface:
    eni_id: str
    private_ip: str


@dataclass(frozen=True)
class SecurityRule:
    """One ingress or egress rule; ports are None when the rule has none."""

    protocol: str | None
    from_port: int | None
    to_port: int | None
    cidr: str | None
    source_group_id: str | None


@dataclass(frozen=True)
class SecurityGroupRules:
    group_id: str
    ingress: tuple[SecurityRule, ...]
    egress: tuple[SecurityRule, ...]


@dataclass(frozen=True)
class Ec2Instance:
    instance_id: str
    region: str
    running: bool
    private_ip: str | None
    user_data: str
    instance_profile_arn: str | None


# Backends and global state.


def backend(service: str, region: str) -> Any:
    """moto's backend of `service` in the default account and `region`.

    moto 5.2.5: `moto.backends.get_backend(service)[account][region]`.
    """
    from moto.backends import get_backend

    backends: Any = get_backend(service)  # type: ignore[call-overload]
    return backends[DEFAULT_ACCOUNT_ID][region]


def forget_every_backend() -> None:
    """Drop every moto backend, so the next request builds fresh ones.

    moto's own reset re-creates each backend eagerly and then drops it (EC2
    alone takes about half a second); dropping them is enough. moto 5.2.5:
    `BackendDict._instances` (every backend dict made), `backend_lock`, and
    `moto.core.model_instances.reset_model_data`.
    """
    from moto.core.base_backend import BackendDict, backend_lock
    from moto.core.model_instances import reset_model_data

    with backend_lock:
        instances: list[Any] = BackendDict._instances  # type: ignore[misc]
        for backend_dict in instances:
            backend_dict.clear()
        instances.clear()
    reset_model_data()


@functools.cache
def offer_only_managed_policies(names: tuple[str, ...]) -> None:
    """Make moto's list of AWS managed IAM policies just `names` (once per process).

    moto parses 4.7 MB of JSON into 1,500 policies for every fresh IAM backend
    when MOTO_IAM_LOAD_MANAGED_POLICIES is true, seconds each time. moto 5.2.5:
    the module attribute `moto.iam.models.aws_managed_policies_data` (a JSON
    object keyed by policy name), read when an IAM backend starts.
    """
    import moto.iam.models as iam_models

    every = json.loads(iam_models.aws_managed_policies_data)
    missing = [name for name in names if name not in every]
    if missing:
        raise EmulatorError(
            f"moto {MOTO_VERSION} has no AWS managed policy {missing[0]!r}; check "
            "the name against moto's aws_managed_policies data"
        )
    kept = {name: every[name] for name in names}
    iam_models.aws_managed_policies_data = json.dumps(kept)


def threaded_server(wrap: Callable[[WsgiApp], WsgiApp], port: int) -> Any:
    """moto's ThreadedMotoServer on 127.0.0.1 whose WSGI app `wrap` wraps.

    The server has moto's public `start`, `stop` and `get_host_and_port`. It
    builds its app inside the private `_server_entry`, which is replaced here.
    moto 5.2.5: `_server_entry`, `_server`, `_ip_address`, `_port`,
    `_server_ready_event`, and `DomainDispatcherApplication(create_backend_app)`
    served by werkzeug with `MotoRequestHandler`.
    """
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    if not hasattr(ThreadedMotoServer, "_server_entry"):
        raise EmulatorError(
            "moto's ThreadedMotoServer has no _server_entry any more; update "
            "rehearsal/emulator/moto_internals.py for this moto version"
        )

    def server_entry(server: Any) -> None:
        app = wrap(DomainDispatcherApplication(create_backend_app))
        server._server = make_server(
            server._ip_address,
            server._port,
            app,
            True,
            request_handler=MotoRequestHandler,
        )
        server._server_ready_event.set()
        # A short poll interval makes stop() quick (the default waits 0.5 s).
        server._server.serve_forever(poll_interval=0.02)

    wrapped = type(
        "EmulatorMotoServer", (ThreadedMotoServer,), {"_server_entry": server_entry}
    )
    return wrapped(ip_address="127.0.0.1", port=port, verbose=False)


def _regional_backends(service: str) -> list[tuple[str, Any]]:
    """(region, backend) of `service` for every account and Region in use.

    moto 5.2.5: `get_backend` maps account -> region -> backend and creates
    entries lazily; iterating its keys does not create any.
    """
    from moto.backends import get_backend

    backends: Any = get_backend(service)  # type: ignore[call-overload]
    found = []
    for account_id in list(backends.keys()):
        regions = backends[account_id]
        for region in list(regions.keys()):
            found.append((region, regions[region]))
    return found


# EC2.


def find_subnet(region: str, subnet_id: str) -> Subnet | None:
    """The subnet, or None if it does not exist.

    moto 5.2.5: `EC2Backend.get_subnet` raising `InvalidSubnetIdError`, and
    `Subnet.id`, `.vpc_id`, `.availability_zone`, `.cidr_block`.
    """
    from moto.ec2.exceptions import InvalidSubnetIdError

    try:
        subnet = backend("ec2", region).get_subnet(subnet_id)
    except InvalidSubnetIdError:
        return None
    return Subnet(subnet.id, subnet.vpc_id, subnet.availability_zone, subnet.cidr_block)


def subnet_ids(region: str) -> set[str]:
    """The ids of every subnet in the Region.

    moto 5.2.5: `EC2Backend.describe_subnets()` and `Subnet.id`.
    """
    return {subnet.id for subnet in backend("ec2", region).describe_subnets()}


def create_network_interface(
    region: str,
    subnet_id: str,
    private_ip: str | None,
    group_ids: list[str],
    description: str,
) -> NetworkInterface:
    """An ENI in the subnet, at `private_ip` or a free address of moto's choice.

    moto 5.2.5: `EC2Backend.create_network_interface(subnet, private_ip_address,
    group_ids=, description=)` taking the Subnet model, and
    `NetworkInterface.id`, `.private_ip_address`.
    """
    ec2 = backend("ec2", region)
    eni = ec2.create_network_interface(
        ec2.get_subnet(subnet_id),
        private_ip,
        group_ids=group_ids,
        description=description,
    )
    return NetworkInterface(eni.id, eni.private_ip_address)


def delete_network_interface(region: str, eni_id: str) -> bool:
    """Delete the ENI; False if it was already gone.

    moto 5.2.5: `EC2Backend.delete_network_interface` raising
    `InvalidNetworkInterfaceIdError`.
    """
    from moto.ec2.exceptions import InvalidNetworkInterfaceIdError

    try:
        backend("ec2", region).delete_network_interface(eni_id)
    except InvalidNetworkInterfaceIdError:
        return False
    return True


def create_security_group(region: str, name: str, description: str, vpc_id: str) -> str:
    """Create a security group in the VPC; its id.

    moto 5.2.5: `EC2Backend.create_security_group(name=, description=,
    vpc_id=)` and `SecurityGroup.id`.
    """
    group = backend("ec2", region).create_security_group(
        name=name, description=description, vpc_id=vpc_id
    )
    return str(group.id)


def allow_tcp_within_group(
    region: str, group_id: str, from_port: int, to_port: int, vpc_id: str
) -> None:
    """Let the group's members reach each other on TCP `from_port`-`to_port`.

    moto 5.2.5: `EC2Backend.authorize_security_group_ingress(group_name_or_id,
    ip_protocol, from_port, to_port, ip_ranges, source_groups=, vpc_id=)`
    with ports as strings.
    """
    backend("ec2", region).authorize_security_group_ingress(
        group_id,
        "tcp",
        str(from_port),
        str(to_port),
        [],
        source_groups=[{"GroupId": group_id}],
        vpc_id=vpc_id,
    )


def delete_security_group(region: str, group_id: str) -> bool:
    """Delete the group; False if it is gone already or still referenced.

    moto 5.2.5: `EC2Backend.delete_security_group(group_id=)` raising
    subclasses of `EC2ClientError`.
    """
    from moto.ec2.exceptions import EC2ClientError

    try:
        backend("ec2", region).delete_security_group(group_id=group_id)
    except EC2ClientError:
        return False
    return True


def security_group_rules(region: str, group_id: str) -> SecurityGroupRules | None:
    """The group's ingress and egress rules, or None if there is no such group.

    moto 5.2.5: `EC2Backend.get_security_group_from_id`, `SecurityGroup.
    ingress_rules` / `.egress_rules`, and each rule's `ip_protocol`,
    `from_port`, `to_port` (ints), `ip_range` and `source_group` (dicts).
    """
    group = backend("ec2", region).get_security_group_from_id(group_id)
    if group is None:
        return None
    return SecurityGroupRules(
        group.id,
        tuple(_security_rule(r) for r in group.ingress_rules),
        tuple(_security_rule(r) for r in group.egress_rules),
    )


def _security_rule(rule: Any) -> SecurityRule:
    return SecurityRule(
        protocol=rule.ip_protocol,
        from_port=rule.from_port,
        to_port=rule.to_port,
        cidr=(rule.ip_range or {}).get("CidrIp"),
        source_group_id=(rule.source_group or {}).get("GroupId"),
    )


def ec2_instances() -> list[Ec2Instance]:
    """Every EC2 instance of every account and Region moto has a backend for.

    moto 5.2.5: `EC2Backend.all_instances()` and `Instance.id`, `.state`
    ("running", ...), `.private_ip`, `.user_data` (a list of bytes or str, or
    None) and `.iam_instance_profile` (a dict with "Arn", or None).
    """
    return [
        Ec2Instance(
            instance_id=instance.id,
            region=region,
            running=instance.state == "running",
            private_ip=instance.private_ip,
            user_data=_decoded_user_data(instance.user_data),
            instance_profile_arn=(instance.iam_instance_profile or {}).get("Arn"),
        )
        for region, ec2 in _regional_backends("ec2")
        for instance in ec2.all_instances()
    ]


def _decoded_user_data(user_data: Any) -> str:
    if not user_data:
        return ""
    if isinstance(user_data, list):
        user_data = user_data[0]
    decoded: str = user_data.decode() if hasattr(user_data, "decode") else user_data
    return decoded


# IAM.


def instance_profile_role(profile_arn: str) -> tuple[str, tuple[str, ...]] | None:
    """The name and attached policy ARNs of the instance profile's first role.

    None when no IAM backend has the profile or the profile has no role.
    moto 5.2.5: `IAMBackend.instance_profiles` (a dict of InstanceProfile with
    `.arn` and `.roles`) and `Role.name`, `.managed_policies` (keyed by ARN).
    """
    for _region, iam in _regional_backends("iam"):
        for profile in iam.instance_profiles.values():
            if profile.arn == profile_arn and profile.roles:
                role = profile.roles[0]
                return role.name, tuple(role.managed_policies)
    return None


# KMS.


def create_symmetric_key(
    region: str,
    policy: str | None,
    description: str | None,
    tags: list[dict[str, str]] | None,
    origin: str,
) -> str:
    """Create a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key with `origin`; its id.

    moto 5.2.5: `KmsBackend.create_key(policy, key_usage, key_spec,
    description, tags, multi_region, origin)`, positional, and `Key.id`.
    """
    key = backend("kms", region).create_key(
        policy,
        "ENCRYPT_DECRYPT",
        "SYMMETRIC_DEFAULT",
        description,
        tags,
        False,
        origin,
    )
    return str(key.id)


def describe_key(region: str, key_id: str) -> dict[str, Any]:
    """DescribeKey's answer for the key, as moto builds it.

    moto 5.2.5: `KmsBackend.describe_key(key_id)` and `Key.to_dict()`, which
    returns {"KeyMetadata": {...}} in the API's shape.
    """
    described: dict[str, Any] = backend("kms", region).describe_key(key_id).to_dict()
    return described


def resolve_key_id(region: str, any_key_id: str) -> str | None:
    """The key id that a key id, key ARN, alias or alias ARN names, or None.

    moto 5.2.5: `KmsBackend.any_id_to_key_id`, which raises KeyError,
    AttributeError or TypeError on some names it cannot resolve.
    """
    try:
        key_id: str = backend("kms", region).any_id_to_key_id(any_key_id)
    except (KeyError, AttributeError, TypeError):
        return None
    return key_id


def schedule_key_deletion_at(region: str, key_id: str, deletion: datetime) -> str:
    """Put the key in PendingDeletion until `deletion` (aware UTC); its ARN.

    moto dates deletions from the wall clock, so the simulated date is written
    in. moto 5.2.5: `Key.enabled`, `.key_state`, and `.deletion_date` as a
    naive UTC datetime, read back by DescribeKey; `Key.arn`.
    """
    key = backend("kms", region).describe_key(key_id)
    key.enabled = False
    key.key_state = "PendingDeletion"
    key.deletion_date = deletion.replace(tzinfo=None)
    return str(key.arn)


def delete_key(region: str, key_id: str) -> None:
    """Remove the key for good, as KMS does at the end of its waiting period.

    moto 5.2.5: `KmsBackend.delete_key(key_id)`.
    """
    backend("kms", region).delete_key(key_id)


def key_id_in_ciphertext(blob: str) -> str | None:
    """The key id inside a base64 ciphertext blob made by moto, if readable.

    moto 5.2.5: `moto.kms.utils._serialize_ciphertext_blob` puts the key id's
    36 UTF-8 bytes first.
    """
    try:
        return base64.b64decode(blob)[:_KEY_ID_LENGTH].decode()
    except ValueError:
        return None


# Secrets Manager.


def delete_secret(
    region: str,
    secret_id: str,
    recovery_window_in_days: int | None,
    force_delete_without_recovery: bool,
) -> tuple[str, str, float]:
    """Delete the secret as DeleteSecret does: its ARN, name and deletion date.

    Raises `MotoServiceError` with the AWS error moto gives. moto 5.2.5:
    `SecretsManagerBackend.delete_secret(secret_id=,
    recovery_window_in_days=, force_delete_without_recovery=)` raising
    `JsonRESTError` with `.code` (HTTP status), `.error_type`, `.message`.
    """
    from moto.core.exceptions import JsonRESTError

    try:
        deleted: tuple[str, str, float] = backend(
            "secretsmanager", region
        ).delete_secret(
            secret_id=secret_id,
            recovery_window_in_days=recovery_window_in_days,
            force_delete_without_recovery=force_delete_without_recovery,
        )
    except JsonRESTError as error:
        raise MotoServiceError(error.code, error.error_type, error.message) from error
    return deleted


def set_secret_deletion_date(region: str, secret_arn: str, deletion: float) -> None:
    """Date a secret's scheduled deletion at `deletion` (a Unix time).

    moto 5.2.5: `SecretsManagerBackend.secrets[arn]` and `FakeSecret.
    deleted_date` (a Unix time), which DescribeSecret reports as DeletedDate.
    """
    secret: Any = backend("secretsmanager", region).secrets[secret_arn]
    secret.deleted_date = deletion
