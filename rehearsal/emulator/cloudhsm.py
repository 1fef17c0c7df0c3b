"""CloudHSM v2 for the emulator: clusters, HSMs, certificates and backups.

Replaces moto's cloudhsmv2 entirely (JSON protocol, `BaldrApiService.<Op>`),
with shapes from botocore's service model. States are computed from the
simulated clock when read. Not emulated: HSM type migration (ModifyCluster
HsmType), DeleteBackup/RestoreBackup/CopyBackupToRegion, backup retention
expiry, resource policies, IPv6, and the per-Region cluster and HSM quotas.
Error messages follow AWS's style; their exact wording is not AWS's.
"""

from __future__ import annotations

import functools
import ipaddress
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import rsa

from . import moto_internals
from .errors import EmulatorError
from .hardware_pki import HsmIdentity, aws_root, manufacturer_root, pooled_key
from .hsm import HsmSimulator
from .moto_internals import DEFAULT_ACCOUNT_ID
from .server import (
    ControlRequestError,
    Emulator,
    EmulatorRequest,
    EmulatorResponse,
    json_error,
    json_response,
)

SERVICE = "cloudhsmv2"
# Control route: a user's session left open on the HSMs from somewhere else
# (body {"cluster_id", "username", "logged_in": true|false}).
LOGGED_IN_ELSEWHERE_ROUTE = "/_emulator/hsm/logged-in-elsewhere"
HSM_TYPE = "hsm2m.medium"
RETIRED_HSM_TYPES = ("hsm1.medium",)
MODES = ("FIPS", "NON_FIPS")
CERT_MAX_LENGTH = 20000
TRUST_ANCHOR_KEY_SIZES = (2048, 4096)
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_CLUSTER_FILTERS = ("clusterIds", "states", "vpcIds")
_BACKUP_FILTERS = ("backupIds", "clusterIds", "states")


class CloudHsmError(EmulatorError):
    """An AWS CloudHSM API error, answered as HTTP 400 with `code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> CloudHsmError:
    return CloudHsmError("CloudHsmInvalidRequestException", message)


def not_found(message: str) -> CloudHsmError:
    return CloudHsmError("CloudHsmResourceNotFoundException", message)


@dataclass
class Hsm:
    hsm_id: str
    cluster_id: str
    subnet_id: str
    availability_zone: str
    eni_id: str
    eni_ip: str
    created_at: float
    deleting_since: float | None = None
    identity: HsmIdentity | None = None
    # The identity an in-place replacement retired (fault replace_first_hsm).
    retired_identity: HsmIdentity | None = None


@dataclass
class Backup:
    backup_id: str
    cluster_id: str
    created_at: float
    hsm_type: str
    mode: str
    snapshot: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Cluster:
    cluster_id: str
    hsm_type: str
    mode: str
    vpc_id: str
    subnet_mapping: dict[str, str]
    security_group_id: str
    backup_retention: dict[str, str]
    created_at: float
    phase: str
    phase_since: float
    model: CloudHsmModel
    source_backup_id: str | None = None
    restored_phase: str = "UNINITIALIZED"
    hsms: list[Hsm] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    cluster_certificate: str | None = None
    trust_anchor: str | None = None
    first_hsm_replaced: bool = False
    backed_up: bool = False
    simulator: HsmSimulator = field(init=False)

    def current_state(self) -> str:
        with self.model.lock:
            self.model.settle()
            return self.model.cluster_state(self)

    def active_hsm_ids(self) -> list[str]:
        with self.model.lock:
            self.model.settle()
            return [h.hsm_id for h in self.hsms if self.model.hsm_state(h) == "ACTIVE"]


class CloudHsmModel:
    """All clusters, HSMs and backups of one emulator (one account, one Region)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.lock = threading.RLock()
        self.clusters: dict[str, Cluster] = {}
        self.backups: dict[str, Backup] = {}
        self._random = random.Random(emulator.seed)
        self._keys_issued = 0

    @property
    def aws_root_pem(self) -> str:
        return aws_root().certificate_pem

    @property
    def manufacturer_root_pem(self) -> str:
        return manufacturer_root().certificate_pem

    def hsm_simulator(self, cluster_id: str) -> HsmSimulator:
        with self.lock:
            return self._cluster(cluster_id).simulator

    def cluster(self, cluster_id: str) -> Cluster:
        with self.lock:
            return self._cluster(cluster_id)

    def cluster_for_ip(self, ip: str) -> str | None:
        """The id of the cluster that has an HSM (in any state) at `ip`."""
        hsm = self.hsm_for_ip(ip)
        return hsm.cluster_id if hsm else None

    def hsm_for_ip(self, ip: str) -> Hsm | None:
        with self.lock:
            self.settle()
            for cluster in self.clusters.values():
                for hsm in cluster.hsms:
                    if hsm.eni_ip == ip:
                        return hsm
            return None

    def describe_cluster(self, cluster_id: str) -> dict[str, Any]:
        """The cluster exactly as DescribeClusters shows it now."""
        with self.lock:
            self.settle()
            return self._cluster_json(self._cluster(cluster_id))

    # State, computed from the simulated clock.

    def now(self) -> float:
        return self.emulator.clock.now()

    def stuck(self, kind: str, state: str) -> bool:
        return self.emulator.faults.stuck_state(kind) == state

    def hsm_state(self, hsm: Hsm) -> str:
        now, profile = self.now(), self.emulator.profile
        if hsm.deleting_since is not None:
            done = now >= hsm.deleting_since + profile.hsm_delete
            if done and not self.stuck("hsm", "DELETE_IN_PROGRESS"):
                return "DELETED"
            return "DELETE_IN_PROGRESS"
        created = now >= hsm.created_at + profile.hsm_create
        if created and not self.stuck("hsm", "CREATE_IN_PROGRESS"):
            return "ACTIVE"
        return "CREATE_IN_PROGRESS"

    def cluster_state(self, cluster: Cluster) -> str:
        if cluster.phase == "INITIALIZED" and cluster.simulator.activated:
            if not self.stuck("cluster", "INITIALIZED"):
                return "ACTIVE"
        return cluster.phase

    def settle(self) -> None:
        """Apply every transition whose time has come (callers hold the lock)."""
        for cluster in list(self.clusters.values()):
            self._settle_cluster(cluster)

    def _settle_cluster(self, cluster: Cluster) -> None:
        profile = self.emulator.profile
        timed = {
            "CREATE_IN_PROGRESS": (profile.cluster_create, cluster.restored_phase),
            "INITIALIZE_IN_PROGRESS": (profile.cluster_initialize, "INITIALIZED"),
            "DELETE_IN_PROGRESS": (profile.cluster_delete, "DELETED"),
        }
        while cluster.phase in timed and not self.stuck("cluster", cluster.phase):
            duration, following = timed[cluster.phase]
            if self.now() < cluster.phase_since + duration:
                break
            cluster.phase_since += duration
            cluster.phase = following
            if following == "DELETED":
                self._delete_security_group(cluster)

        for hsm in list(cluster.hsms):
            if self.hsm_state(hsm) == "DELETED":
                self._remove_hsm(cluster, hsm)

    def _remove_hsm(self, cluster: Cluster, hsm: Hsm) -> None:
        cluster.hsms.remove(hsm)
        cluster.simulator.remove_hsm(hsm.hsm_id)
        # False when someone deleted the ENI by hand; the HSM is gone either way.
        moto_internals.delete_network_interface(self.emulator.region, hsm.eni_id)
        if not cluster.hsms and cluster.cluster_certificate:
            self._take_backup(cluster)

    # Operations (names are the API's).

    def create_cluster(self, params: dict[str, Any]) -> dict[str, Any]:
        hsm_type, mode = _hsm_type_and_mode(params)
        retention = _retention(params.get("BackupRetentionPolicy"))
        backup = self._source_backup(params.get("SourceBackupId"))
        if backup is not None:
            hsm_type, mode = backup.hsm_type, backup.mode
        vpc_id, subnet_mapping = self._subnets(params.get("SubnetIds") or [])

        cluster_id = self._new_id("cluster")
        security_group_id = self._create_security_group(cluster_id, vpc_id)
        cluster = Cluster(
            cluster_id=cluster_id,
            hsm_type=hsm_type,
            mode=mode,
            vpc_id=vpc_id,
            subnet_mapping=subnet_mapping,
            security_group_id=security_group_id,
            backup_retention=retention,
            created_at=self.now(),
            phase="CREATE_IN_PROGRESS",
            phase_since=self.now(),
            model=self,
            tags=_tags(params.get("TagList") or []),
        )
        cluster.simulator = HsmSimulator(cluster, lock=self.lock)
        if backup is not None:
            self._restore(cluster, backup)
        self.clusters[cluster_id] = cluster
        return {"Cluster": self._cluster_json(cluster)}

    def create_hsm(self, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self._cluster(params.get("ClusterId", ""))
        az, subnet_id = self._placement(cluster, params)
        self._check_hsm_allowed(cluster)

        hsm_id = self._new_id("hsm")
        eni = moto_internals.create_network_interface(
            self.emulator.region,
            subnet_id,
            params.get("IpAddress"),
            group_ids=[cluster.security_group_id],
            description=f"CloudHSM ENI for HSM {hsm_id}",
        )
        hsm = Hsm(
            hsm_id=hsm_id,
            cluster_id=cluster.cluster_id,
            subnet_id=subnet_id,
            availability_zone=az,
            eni_id=eni.eni_id,
            eni_ip=eni.private_ip,
            created_at=self.now(),
        )
        cluster.hsms.append(hsm)
        cluster.simulator.add_hsm(hsm_id)
        cluster.backed_up = False
        return {"Hsm": self._hsm_json(hsm)}

    def describe_clusters(self, params: dict[str, Any]) -> dict[str, Any]:
        filters = _filters(params.get("Filters"), _CLUSTER_FILTERS)
        clusters = [
            c
            for c in self.clusters.values()
            if _matches(filters, "clusterIds", c.cluster_id)
            and _matches(filters, "states", self.cluster_state(c))
            and _matches(filters, "vpcIds", c.vpc_id)
        ]
        page, token = _page(clusters, params, limit=25)
        result: dict[str, Any] = {"Clusters": [self._cluster_json(c) for c in page]}
        if token:
            result["NextToken"] = token
        return result

    def initialize_cluster(self, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self._cluster(params.get("ClusterId", ""))
        state = self.cluster_state(cluster)
        if state != "UNINITIALIZED":
            raise invalid(
                f"Cluster {cluster.cluster_id} is in state {state}; InitializeCluster "
                "needs an UNINITIALIZED cluster."
            )
        identity = self._first_hsm_identity(cluster)
        if identity is None:
            raise invalid(
                f"Cluster {cluster.cluster_id} has no ACTIVE HSM yet, so it has no "
                "CSR to sign. Create an HSM and wait until it is ACTIVE."
            )
        signed_pem = params.get("SignedCert", "")
        anchor_pem = params.get("TrustAnchor", "")
        _check_initialization_certificates(signed_pem, anchor_pem, identity)

        cluster.cluster_certificate = signed_pem
        cluster.trust_anchor = anchor_pem
        cluster.phase, cluster.phase_since = "INITIALIZE_IN_PROGRESS", self.now()
        return {
            "State": "INITIALIZE_IN_PROGRESS",
            "StateMessage": "Cluster is initializing. State will change to "
            "INITIALIZED upon completion.",
        }

    def modify_cluster(self, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self._cluster(params.get("ClusterId", ""))
        if params.get("HsmType") not in (None, cluster.hsm_type):
            raise invalid(
                f"Changing HsmType of {cluster.cluster_id} to {params['HsmType']} is "
                "not emulated; only BackupRetentionPolicy can be modified here."
            )
        if "BackupRetentionPolicy" in params:
            cluster.backup_retention = _retention(params["BackupRetentionPolicy"])
        return {"Cluster": self._cluster_json(cluster)}

    def delete_hsm(self, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self._cluster(params.get("ClusterId", ""))
        hsm = self._find_hsm(cluster, params)
        if hsm.deleting_since is None:
            hsm.deleting_since = self.now()
        return {"HsmId": hsm.hsm_id}

    def delete_cluster(self, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self._cluster(params.get("ClusterId", ""))
        state = self.cluster_state(cluster)
        if cluster.hsms:
            hsm_ids = ", ".join(h.hsm_id for h in cluster.hsms)
            raise invalid(
                f"Cluster {cluster.cluster_id} still contains HSMs ({hsm_ids}). "
                "Delete them with DeleteHsm and wait until they are gone."
            )
        if state in ("DELETE_IN_PROGRESS", "DELETED"):
            raise invalid(f"Cluster {cluster.cluster_id} is already {state}.")

        if cluster.cluster_certificate and not cluster.backed_up:
            self._take_backup(cluster)
        cluster.phase, cluster.phase_since = "DELETE_IN_PROGRESS", self.now()
        return {"Cluster": self._cluster_json(cluster)}

    def describe_backups(self, params: dict[str, Any]) -> dict[str, Any]:
        filters = _filters(params.get("Filters"), _BACKUP_FILTERS)
        backups = [
            b
            for b in self.backups.values()
            if _matches(filters, "backupIds", b.backup_id)
            and _matches(filters, "clusterIds", b.cluster_id)
            and _matches(filters, "states", "READY")
        ]
        if params.get("SortAscending") is False:
            backups.reverse()
        page, token = _page(backups, params, limit=50)
        result: dict[str, Any] = {"Backups": [self._backup_json(b) for b in page]}
        if token:
            result["NextToken"] = token
        return result

    def tag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        self._tags_of(params.get("ResourceId", "")).update(
            _tags(params.get("TagList") or [])
        )
        return {}

    def untag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        tags = self._tags_of(params.get("ResourceId", ""))
        for key in params.get("TagKeyList") or []:
            tags.pop(key, None)
        return {}

    def list_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        tags = self._tags_of(params.get("ResourceId", ""))
        items = [{"Key": k, "Value": v} for k, v in tags.items()]
        page, token = _page(items, params, limit=100)
        result: dict[str, Any] = {"TagList": page}
        if token:
            result["NextToken"] = token
        return result

    # Pieces of the operations.

    def _cluster(self, cluster_id: str) -> Cluster:
        cluster = self.clusters.get(cluster_id)
        if cluster is None:
            raise not_found(
                f"Cluster {cluster_id or '(none)'} not found in this account and "
                "Region. Check the ClusterId (DescribeClusters lists them)."
            )
        return cluster

    def _tags_of(self, resource_id: str) -> dict[str, str]:
        if resource_id in self.backups:
            return self.backups[resource_id].tags
        return self._cluster(resource_id).tags

    def _next_key(self) -> rsa.RSAPrivateKey:
        self._keys_issued += 1
        return pooled_key(self._keys_issued - 1)

    def _new_id(self, prefix: str) -> str:
        letters = "".join(self._random.choice(_ID_ALPHABET) for _ in range(11))
        return f"{prefix}-{letters}"

    def _subnets(self, subnet_ids: list[str]) -> tuple[str, dict[str, str]]:
        if not subnet_ids:
            raise invalid("SubnetIds must name at least one subnet.")
        mapping: dict[str, str] = {}
        vpc_ids = set()
        for subnet_id in subnet_ids:
            subnet = moto_internals.find_subnet(self.emulator.region, subnet_id)
            if subnet is None:
                raise invalid(
                    f"Subnet {subnet_id} does not exist in this account and Region."
                )
            if subnet.availability_zone in mapping:
                raise invalid(
                    f"Subnets {mapping[subnet.availability_zone]} and {subnet_id} are "
                    f"both in {subnet.availability_zone}; give at most one subnet "
                    "per Availability Zone."
                )
            mapping[subnet.availability_zone] = subnet_id
            vpc_ids.add(subnet.vpc_id)
        if len(vpc_ids) > 1:
            raise invalid(
                f"Subnets {', '.join(subnet_ids)} are in different VPCs "
                f"({', '.join(sorted(vpc_ids))}); all must be in one VPC."
            )
        return vpc_ids.pop(), mapping

    def _create_security_group(self, cluster_id: str, vpc_id: str) -> str:
        region = self.emulator.region
        group_id = moto_internals.create_security_group(
            region,
            name=f"cloudhsm-{cluster_id}-sg",
            description=f"CloudHSM cluster {cluster_id} security group",
            vpc_id=vpc_id,
        )
        # HSMs of one cluster talk to each other on TCP 2223-2225.
        moto_internals.allow_tcp_within_group(region, group_id, 2223, 2225, vpc_id)
        return group_id

    def _delete_security_group(self, cluster: Cluster) -> None:
        # False when already deleted or still referenced: AWS leaves it too.
        moto_internals.delete_security_group(
            self.emulator.region, cluster.security_group_id
        )

    def _placement(self, cluster: Cluster, params: dict[str, Any]) -> tuple[str, str]:
        az = params.get("AvailabilityZone", "")
        subnet_id = cluster.subnet_mapping.get(az)
        if subnet_id is None:
            raise invalid(
                f"Availability Zone {az} has no subnet in cluster "
                f"{cluster.cluster_id}; use one of "
                f"{', '.join(sorted(cluster.subnet_mapping))}."
            )
        subnet = moto_internals.find_subnet(self.emulator.region, subnet_id)
        if subnet is None:
            raise invalid(
                f"Subnet {subnet_id} of cluster {cluster.cluster_id} in {az} no "
                "longer exists; create the HSM in another Availability Zone of "
                "the cluster."
            )
        ip = params.get("IpAddress")
        if ip is not None and ipaddress.ip_address(ip) not in ipaddress.ip_network(
            subnet.cidr_block
        ):
            raise invalid(
                f"IpAddress {ip} is not in subnet {subnet_id} ({subnet.cidr_block}) "
                f"of {az}; pick a free address in that range or omit it."
            )
        return az, subnet_id

    def _check_hsm_allowed(self, cluster: Cluster) -> None:
        state = self.cluster_state(cluster)
        if state in ("CREATE_IN_PROGRESS", "DELETE_IN_PROGRESS", "DELETED"):
            raise invalid(
                f"Cluster {cluster.cluster_id} is in state {state}; HSMs can be "
                "created once it is UNINITIALIZED or ACTIVE."
            )
        if cluster.hsms and state != "ACTIVE":
            raise invalid(
                f"Cluster {cluster.cluster_id} already contains an HSM but has not "
                "yet been fully activated; initialize and activate it before "
                "adding more HSMs."
            )

    def _find_hsm(self, cluster: Cluster, params: dict[str, Any]) -> Hsm:
        keys = [k for k in ("HsmId", "EniId", "EniIp") if params.get(k)]
        if len(keys) != 1:
            raise invalid("Give exactly one of HsmId, EniId or EniIp.")
        key = keys[0]
        attribute = {"HsmId": "hsm_id", "EniId": "eni_id", "EniIp": "eni_ip"}[key]
        for hsm in cluster.hsms:
            if getattr(hsm, attribute) == params[key]:
                return hsm
        raise not_found(
            f"No HSM with {key} {params[key]} in cluster {cluster.cluster_id}."
        )

    def _first_hsm_identity(self, cluster: Cluster) -> HsmIdentity | None:
        """The first HSM's certificates, once it is ACTIVE (made on first use)."""
        if not cluster.hsms or self.hsm_state(cluster.hsms[0]) != "ACTIVE":
            return None
        first = cluster.hsms[0]
        if first.identity is None:
            first.identity = HsmIdentity.issue(first.hsm_id, self._next_key())
        if self.emulator.faults.replace_first_hsm and not cluster.first_hsm_replaced:
            self._replace_first_hsm(cluster, first)
        return first.identity

    def _replace_first_hsm(self, cluster: Cluster, hsm: Hsm) -> None:
        # AWS replaces an unhealthy HSM before initialization behind the same
        # HSM id, ENI and IP; the new hardware has a new key, so HsmCertificate
        # and the cluster CSR change.
        hsm.retired_identity = hsm.identity
        hsm.identity = HsmIdentity.issue(hsm.hsm_id, self._next_key())
        cluster.first_hsm_replaced = True

    def _take_backup(self, cluster: Cluster) -> None:
        backup_id = self._new_id("backup")
        snapshot = {
            "simulator": cluster.simulator.snapshot(),
            "cluster_certificate": cluster.cluster_certificate,
            "trust_anchor": cluster.trust_anchor,
        }
        self.backups[backup_id] = Backup(
            backup_id,
            cluster.cluster_id,
            self.now(),
            cluster.hsm_type,
            cluster.mode,
            snapshot,
        )
        cluster.backed_up = True

    def _source_backup(self, backup_id: str | None) -> Backup | None:
        if backup_id is None:
            return None
        backup = self.backups.get(backup_id.rpartition("/")[2])
        if backup is None:
            raise not_found(
                f"Backup {backup_id} not found. DescribeBackups lists the backups "
                "you can restore from."
            )
        return backup

    def _restore(self, cluster: Cluster, backup: Backup) -> None:
        cluster.source_backup_id = backup.backup_id
        cluster.cluster_certificate = backup.snapshot["cluster_certificate"]
        cluster.trust_anchor = backup.snapshot["trust_anchor"]
        cluster.restored_phase = "INITIALIZED"
        cluster.simulator = HsmSimulator(
            cluster, backup.snapshot["simulator"], lock=self.lock
        )

    # JSON shapes of the service model.

    def _timestamp(self, t: float) -> float:
        return self.emulator.clock.datetime_at(t).timestamp()

    def _cluster_json(self, cluster: Cluster) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "BackupPolicy": "DEFAULT",
            "BackupRetentionPolicy": dict(cluster.backup_retention),
            "ClusterId": cluster.cluster_id,
            "CreateTimestamp": self._timestamp(cluster.created_at),
            "Hsms": [self._hsm_json(h) for h in cluster.hsms],
            "HsmType": cluster.hsm_type,
            "SecurityGroup": cluster.security_group_id,
            "State": self.cluster_state(cluster),
            "SubnetMapping": dict(cluster.subnet_mapping),
            "VpcId": cluster.vpc_id,
            "NetworkType": "IPV4",
            "Certificates": self._certificates_json(cluster),
            "TagList": [{"Key": k, "Value": v} for k, v in cluster.tags.items()],
            "Mode": cluster.mode,
        }
        if cluster.source_backup_id:
            shape["SourceBackupId"] = cluster.source_backup_id
        return shape

    def _certificates_json(self, cluster: Cluster) -> dict[str, str]:
        if cluster.phase == "UNINITIALIZED":
            identity = self._first_hsm_identity(cluster)
            if identity is None:
                return {}
            return {
                "ClusterCsr": identity.cluster_csr_pem(cluster.cluster_id),
                "HsmCertificate": identity.hsm_certificate_pem,
                "AwsHardwareCertificate": identity.aws_hardware_certificate_pem,
                "ManufacturerHardwareCertificate": (
                    identity.manufacturer_hardware_certificate_pem
                ),
            }
        if cluster.cluster_certificate and cluster.phase != "INITIALIZE_IN_PROGRESS":
            return {"ClusterCertificate": cluster.cluster_certificate}
        return {}

    def _hsm_json(self, hsm: Hsm) -> dict[str, Any]:
        cluster = self.clusters.get(hsm.cluster_id)
        return {
            "AvailabilityZone": hsm.availability_zone,
            "ClusterId": hsm.cluster_id,
            "SubnetId": hsm.subnet_id,
            "EniId": hsm.eni_id,
            "EniIp": hsm.eni_ip,
            "HsmId": hsm.hsm_id,
            "HsmType": cluster.hsm_type if cluster else HSM_TYPE,
            "State": self.hsm_state(hsm),
        }

    def _backup_json(self, backup: Backup) -> dict[str, Any]:
        region = self.emulator.region
        return {
            "BackupId": backup.backup_id,
            "BackupArn": (
                f"arn:aws:cloudhsm:{region}:{DEFAULT_ACCOUNT_ID}:backup/"
                f"{backup.backup_id}"
            ),
            "BackupState": "READY",
            "ClusterId": backup.cluster_id,
            "CreateTimestamp": self._timestamp(backup.created_at),
            "NeverExpires": False,
            "TagList": [{"Key": k, "Value": v} for k, v in backup.tags.items()],
            "HsmType": backup.hsm_type,
            "Mode": backup.mode,
        }


def _hsm_type_and_mode(params: dict[str, Any]) -> tuple[str, str]:
    hsm_type = params.get("HsmType", "")
    if hsm_type in RETIRED_HSM_TYPES:
        raise invalid(
            f"HsmType {hsm_type} can no longer be used for new clusters; "
            f"use {HSM_TYPE}."
        )
    if hsm_type != HSM_TYPE:
        raise invalid(f"HsmType {hsm_type!r} is not supported; use {HSM_TYPE}.")
    mode = params.get("Mode")
    if mode not in MODES:
        raise invalid(
            f"Mode {mode!r} is not valid for HsmType {HSM_TYPE}; it is required "
            f"and must be one of {', '.join(MODES)}."
        )
    return hsm_type, mode


def _retention(policy: dict[str, Any] | None) -> dict[str, str]:
    if policy is None:
        return {"Type": "DAYS", "Value": "90"}
    value = str(policy.get("Value", ""))
    if (
        policy.get("Type") != "DAYS"
        or not value.isdigit()
        or not 7 <= int(value) <= 379
    ):
        raise invalid(
            f"BackupRetentionPolicy {policy} is not valid; use Type DAYS and a "
            "Value from 7 to 379."
        )
    return {"Type": "DAYS", "Value": value}


def _tags(tag_list: list[dict[str, str]]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tag_list}


def _filters(
    filters: dict[str, list[str]] | None, allowed: tuple[str, ...]
) -> dict[str, list[str]]:
    for name in filters or {}:
        if name not in allowed:
            raise invalid(
                f"Filter {name!r} is not supported; use one of {', '.join(allowed)}."
            )
    return filters or {}


def _matches(filters: dict[str, list[str]], name: str, value: str) -> bool:
    return name not in filters or value in filters[name]


def _page(
    items: list[Any], params: dict[str, Any], limit: int
) -> tuple[list[Any], str]:
    size = params.get("MaxResults", limit)
    if not isinstance(size, int) or not 1 <= size <= limit:
        raise invalid(f"MaxResults {size!r} is not valid; use 1 to {limit}.")
    token = params.get("NextToken") or "0"
    if not token.isdigit() or int(token) > len(items):
        raise invalid(
            f"NextToken {token!r} is not valid; pass the NextToken of the previous "
            "response unchanged."
        )
    start = int(token)
    end = start + size
    return items[start:end], str(end) if end < len(items) else ""


def _check_initialization_certificates(
    signed_pem: str, anchor_pem: str, identity: HsmIdentity
) -> None:
    signed = _load_certificate("SignedCert", signed_pem)
    anchor = _load_certificate("TrustAnchor", anchor_pem)
    _check_trust_anchor(anchor)

    if signed.public_key() != identity.identity_key.public_key():
        raise invalid(
            "SignedCert does not carry the public key of the cluster CSR. Sign the "
            "ClusterCsr currently shown by DescribeClusters (the HSM may have been "
            "replaced since you read it)."
        )
    try:
        signed.verify_directly_issued_by(anchor)
    except (ValueError, TypeError, InvalidSignature) as error:
        raise invalid(
            "SignedCert was not issued and signed by TrustAnchor. Sign the CSR "
            "directly with the trust anchor's key (no intermediates)."
        ) from error


def _load_certificate(name: str, pem: str) -> x509.Certificate:
    if len(pem) > CERT_MAX_LENGTH:
        raise invalid(
            f"{name} is {len(pem)} characters long; the limit is {CERT_MAX_LENGTH}."
        )
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError as error:
        raise invalid(
            f"{name} is not a PEM-encoded X.509 certificate; pass the certificate "
            "text starting with -----BEGIN CERTIFICATE-----."
        ) from error


def _check_trust_anchor(anchor: x509.Certificate) -> None:
    key = anchor.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size not in (
        TRUST_ANCHOR_KEY_SIZES
    ):
        size = getattr(key, "key_size", "non-RSA")
        raise invalid(
            f"TrustAnchor key is {size}-bit {type(key).__name__}; it must be RSA "
            "2048 or 4096."
        )
    try:
        anchor.verify_directly_issued_by(anchor)
    except (ValueError, TypeError, InvalidSignature) as error:
        raise invalid(
            "TrustAnchor is not self-signed; give the root certificate that "
            "signed the CSR."
        ) from error
    try:
        constraints = anchor.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.value.ca:
        raise invalid(
            "TrustAnchor lacks basicConstraints CA:TRUE; a trust anchor must be a "
            "CA certificate (RFC 5280)."
        )


Operation = Callable[[CloudHsmModel, dict[str, Any]], dict[str, Any]]
OPERATIONS: dict[str, Operation] = {
    "CreateCluster": CloudHsmModel.create_cluster,
    "CreateHsm": CloudHsmModel.create_hsm,
    "DescribeClusters": CloudHsmModel.describe_clusters,
    "InitializeCluster": CloudHsmModel.initialize_cluster,
    "ModifyCluster": CloudHsmModel.modify_cluster,
    "DeleteHsm": CloudHsmModel.delete_hsm,
    "DeleteCluster": CloudHsmModel.delete_cluster,
    "DescribeBackups": CloudHsmModel.describe_backups,
    "TagResource": CloudHsmModel.tag_resource,
    "UntagResource": CloudHsmModel.untag_resource,
    "ListTags": CloudHsmModel.list_tags,
}


def handle(request: EmulatorRequest) -> EmulatorResponse:
    """Answer one cloudhsmv2 call; operations we do not emulate say so."""
    model: CloudHsmModel = request.emulator.models.cloudhsm
    operation = OPERATIONS.get(request.operation)
    if operation is None:
        return json_error(
            400,
            "CloudHsmInvalidRequestException",
            f"{request.operation} is not implemented by the emulator's CloudHSM.",
        )
    with model.lock:
        model.settle()
        try:
            return json_response(operation(model, request.params))
        except CloudHsmError as error:
            return json_error(400, error.code, error.message)


def install(emulator: Emulator) -> None:
    """Plug CloudHSM v2 into an emulator (see the package docstring)."""
    model = CloudHsmModel(emulator)
    emulator.models.cloudhsm = model
    # Every operation of the service model, so none ever falls through to moto.
    for operation in _service_operations():
        emulator.register_operation(SERVICE, operation, handle)

    def logged_in_elsewhere(payload: dict[str, Any]) -> dict[str, Any]:
        return _set_logged_in_elsewhere(model, payload)

    emulator.register_route("POST", LOGGED_IN_ELSEWHERE_ROUTE, logged_in_elsewhere)


def _set_logged_in_elsewhere(
    model: CloudHsmModel, payload: dict[str, Any]
) -> dict[str, Any]:
    """Open or close a session of a user elsewhere; KMS then reports USER_LOGGED_IN."""
    cluster_id, username = payload.get("cluster_id"), payload.get("username")
    logged_in = payload.get("logged_in", True)
    if not isinstance(cluster_id, str) or not isinstance(username, str):
        raise ControlRequestError(
            f"{LOGGED_IN_ELSEWHERE_ROUTE} needs cluster_id and username strings, "
            f"got {cluster_id!r} and {username!r}"
        )
    if not isinstance(logged_in, bool):
        raise ControlRequestError(f"logged_in must be true or false, got {logged_in!r}")
    with model.lock:
        cluster = model.clusters.get(cluster_id)
        if cluster is None:
            raise ControlRequestError(
                f"no cluster {cluster_id} in the emulator; pass a ClusterId that "
                "CreateCluster returned"
            )
        # An unknown user raises HsmCommandError, answered as HTTP 400 too.
        cluster.simulator.mark_logged_in_elsewhere(username, logged_in)
    return {"cluster_id": cluster_id, "username": username, "logged_in": logged_in}


@functools.cache
def _service_operations() -> tuple[str, ...]:
    import botocore.session

    model = botocore.session.get_session().get_service_model(SERVICE)
    return tuple(model.operation_names)
