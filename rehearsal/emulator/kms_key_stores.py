"""KMS custom key stores backed by the emulated CloudHSM clusters, and the KMS
keys in them.

States follow the simulated clock: a connect is decided when the store is read
after `key_store_connect` seconds, by logging in as `kmsuser` on the HSM
simulator (a wrong password counts as a failed login there) and, on success,
rotating its password. Keys themselves live in moto's KMS backend; this module
adds the key store rules and patches the metadata. Known gaps: CloudHSM key
stores only (no external key stores), one Region (the emulator's), no key
material on the HSMs, INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET only through the
`connect_error` fault, and Decrypt of a ciphertext from a store key is checked
only when the store is reachable through the key id moto puts in the blob.
"""

from __future__ import annotations

import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from cryptography import x509

from . import moto_internals
from .errors import EmulatorError
from .hsm import HsmCommandError
from .moto_internals import SecurityGroupRules, SecurityRule
from .server import (
    EmulatorRequest,
    EmulatorResponse,
    json_error,
    json_response,
)

if TYPE_CHECKING:
    from .cloudhsm import Cluster
    from .server import Emulator

STORE_LIMIT = 10
KMS_USER = "kmsuser"
CRYPTO_USER_ROLE = "crypto-user"
STORE_TYPE = "AWS_CLOUDHSM"
HSM_PORTS = (2223, 2225)
PASSWORD_LENGTHS = (7, 32)
PENDING_WINDOW_DAYS = (7, 30)
DEFAULT_PENDING_WINDOW_DAYS = 30
ROTATED_PASSWORD_LENGTH = 32
# KMS operations that use a key's material: refused while its store is away.
CRYPTO_OPERATIONS = (
    "Encrypt",
    "Decrypt",
    "ReEncrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
)
# HsmSimulator login errors and the ConnectionErrorCode KMS reports for them.
LOGIN_ERRORS = {
    "LOGIN_FAILED": "INVALID_CREDENTIALS",
    "USER_LOCKED_OUT": "USER_LOCKED_OUT",
    "USER_NOT_FOUND": "USER_NOT_FOUND",
}


class ConnectionState(StrEnum):
    CONNECTED = "CONNECTED"
    CONNECTING = "CONNECTING"
    FAILED = "FAILED"
    DISCONNECTED = "DISCONNECTED"
    DISCONNECTING = "DISCONNECTING"


class KmsError(EmulatorError):
    """A KMS API error, answered as HTTP 400 with the AWS exception name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class CustomKeyStore:
    custom_key_store_id: str
    name: str
    cluster_id: str
    trust_anchor: str
    password: str
    created_at: float
    state: ConnectionState = ConnectionState.DISCONNECTED
    since: float = 0.0
    error_code: str | None = None

    def __repr__(self) -> str:
        # The key store password must not reach logs or test output.
        return f"CustomKeyStore({self.custom_key_store_id}, {self.state})"


@dataclass
class StoreKey:
    """A KMS key created in a custom key store."""

    key_id: str
    custom_key_store_id: str
    cluster_id: str
    deletion_at: float | None = None


class KeyStoreModel:
    """Every custom key store and store key of one emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._lock = threading.RLock()
        self._stores: dict[str, CustomKeyStore] = {}
        self._keys: dict[str, StoreKey] = {}

    # Custom key stores (names are the API's).

    def create_custom_key_store(self, params: dict[str, Any]) -> dict[str, Any]:
        name, cluster_id, trust_anchor, password = _create_params(params)
        self._check_name_free(name)
        if len(self._stores) >= STORE_LIMIT:
            raise KmsError(
                "LimitExceededException",
                f"This account and Region already has {STORE_LIMIT} custom key "
                "stores, the quota. Delete one you no longer need first.",
            )

        cluster = self._usable_cluster(cluster_id)
        self._check_cluster_free(cluster)
        if not _same_certificate(trust_anchor, cluster.trust_anchor or ""):
            raise KmsError(
                "IncorrectTrustAnchorException",
                f"The TrustAnchorCertificate is not the trust anchor of cluster "
                f"{cluster_id}. Pass the customerCA.crt the cluster was "
                "initialized with.",
            )
        self._check_configuration(cluster, hsms_needed=2)

        store = CustomKeyStore(
            custom_key_store_id="cks-" + secrets.token_hex(9)[:17],
            name=name,
            cluster_id=cluster_id,
            trust_anchor=trust_anchor,
            password=password,
            created_at=self._emulator.clock.now(),
        )
        self._stores[store.custom_key_store_id] = store
        return {"CustomKeyStoreId": store.custom_key_store_id}

    def describe_custom_key_stores(self, params: dict[str, Any]) -> dict[str, Any]:
        stores = self._selected_stores(params)
        start = _marker_position(params.get("Marker"), len(stores))
        limit = int(params.get("Limit") or 1000)
        page = stores[start : start + limit]
        result: dict[str, Any] = {
            "CustomKeyStores": [self._entry(s) for s in page],
            "Truncated": start + limit < len(stores),
        }
        if result["Truncated"]:
            result["NextMarker"] = str(start + limit)
        return result

    def connect_custom_key_store(self, params: dict[str, Any]) -> dict[str, Any]:
        store = self._store(params.get("CustomKeyStoreId", ""))
        if store.state in (ConnectionState.CONNECTED, ConnectionState.CONNECTING):
            return {}
        if store.state is not ConnectionState.DISCONNECTED:
            raise _invalid_state(
                store,
                "ConnectCustomKeyStore",
                "Disconnect it (DisconnectCustomKeyStore), wait for DISCONNECTED, "
                "fix the cause shown in ConnectionErrorCode, then connect again.",
            )

        cluster = self._cluster_or_none(store.cluster_id)
        if cluster is not None:
            self._check_active(cluster)
            self._check_security_group(cluster)
        self._move(store, ConnectionState.CONNECTING)
        return {}

    def disconnect_custom_key_store(self, params: dict[str, Any]) -> dict[str, Any]:
        store = self._store(params.get("CustomKeyStoreId", ""))
        if store.state in (
            ConnectionState.DISCONNECTED,
            ConnectionState.DISCONNECTING,
        ):
            raise _invalid_state(
                store,
                "DisconnectCustomKeyStore",
                "It is already disconnected or disconnecting; wait for DISCONNECTED.",
            )
        self._move(store, ConnectionState.DISCONNECTING)
        return {}

    def update_custom_key_store(self, params: dict[str, Any]) -> dict[str, Any]:
        store = self._store(params.get("CustomKeyStoreId", ""))
        new_name = params.get("NewCustomKeyStoreName")
        if "KeyStorePassword" in params or "CloudHsmClusterId" in params:
            self._require_disconnected(store, "change KeyStorePassword or cluster")
        if new_name is not None and new_name != store.name:
            self._check_name_change(store, new_name)

        if "KeyStorePassword" in params:
            store.password = _checked_password(params["KeyStorePassword"])
        if "CloudHsmClusterId" in params:
            store.cluster_id = self._related_cluster(store, params["CloudHsmClusterId"])
        if new_name is not None:
            store.name = new_name
        return {}

    def delete_custom_key_store(self, params: dict[str, Any]) -> dict[str, Any]:
        store = self._store(params.get("CustomKeyStoreId", ""))
        self._require_disconnected(store, "delete it")
        remaining = self._keys_in(store)
        if remaining:
            raise KmsError(
                "CustomKeyStoreHasCMKsException",
                f"Custom key store {store.custom_key_store_id} still contains "
                f"{len(remaining)} KMS key(s) ({', '.join(remaining)}), including "
                "keys pending deletion. Schedule their deletion (ScheduleKeyDeletion) "
                "and delete the store after their deletion date.",
            )
        del self._stores[store.custom_key_store_id]
        return {}

    # KMS keys in key stores.

    def create_key(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        store = self._store(params["CustomKeyStoreId"])
        _check_store_key_params(params)
        if store.state is not ConnectionState.CONNECTED:
            raise _invalid_state(
                store,
                "CreateKey",
                "Connect it (ConnectCustomKeyStore) and wait for CONNECTED.",
            )
        self._check_configuration(self._usable_cluster(store.cluster_id), 2)

        key_id = moto_internals.create_symmetric_key(
            region,
            params.get("Policy"),
            params.get("Description"),
            params.get("Tags"),
            STORE_TYPE,
        )
        self._keys[key_id] = StoreKey(
            key_id, store.custom_key_store_id, store.cluster_id
        )
        return self.key_metadata(key_id, region)

    def key_metadata(self, key_id: str, region: str) -> dict[str, Any]:
        """DescribeKey's answer for a store key, with the store fields added."""
        store_key = self._keys[key_id]
        described = moto_internals.describe_key(region, key_id)
        metadata = described["KeyMetadata"]
        metadata["CustomKeyStoreId"] = store_key.custom_key_store_id
        metadata["CloudHsmClusterId"] = store_key.cluster_id
        if store_key.deletion_at is not None:
            deletion = self._emulator.clock.datetime_at(store_key.deletion_at)
            metadata["DeletionDate"] = deletion.timestamp()
        elif self._unavailable(store_key):
            metadata["KeyState"] = "Unavailable"
        return described

    def store_key(self, any_key_id: str | None, region: str) -> StoreKey | None:
        """The store key that a KeyId, key ARN, alias or alias ARN names, if any."""
        if not any_key_id:
            return None
        key_id = moto_internals.resolve_key_id(region, any_key_id)
        return self._keys.get(key_id) if key_id else None

    def schedule_key_deletion(
        self, store_key: StoreKey, days: int, region: str
    ) -> dict[str, Any]:
        deletion_at = self._emulator.clock.now() + days * 86400
        deletion = self._emulator.clock.datetime_at(deletion_at)
        key_arn = moto_internals.schedule_key_deletion_at(
            region, store_key.key_id, deletion
        )
        store_key.deletion_at = deletion_at
        return {
            "KeyId": key_arn,
            "DeletionDate": deletion.timestamp(),
            "KeyState": "PendingDeletion",
            "PendingWindowInDays": days,
        }

    def cancel_key_deletion(self, store_key: StoreKey) -> None:
        store_key.deletion_at = None

    def check_usable(self, store_key: StoreKey, operation: str) -> None:
        if self._unavailable(store_key):
            raise KmsError(
                "KMSInvalidStateException",
                f"{operation} cannot use key {store_key.key_id}: its custom key "
                f"store {store_key.custom_key_store_id} is not CONNECTED. Connect "
                "the key store (ConnectCustomKeyStore) and retry.",
            )

    def purge_deleted_keys(self, region: str) -> None:
        """Delete store keys whose deletion date has passed on the simulated clock."""
        now = self._emulator.clock.now()
        for key_id, store_key in list(self._keys.items()):
            if store_key.deletion_at is not None and now >= store_key.deletion_at:
                moto_internals.delete_key(region, key_id)
                del self._keys[key_id]

    def settle(self) -> None:
        """Apply every connection transition whose time has come."""
        for store in self._stores.values():
            self._settle(store)

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    # State machine.

    def _move(self, store: CustomKeyStore, state: ConnectionState) -> None:
        store.state, store.since, store.error_code = (
            state,
            self._emulator.clock.now(),
            None,
        )

    def _settle(self, store: CustomKeyStore) -> None:
        now, profile = self._emulator.clock.now(), self._emulator.profile
        stuck = self._emulator.faults.stuck_state("key_store")
        if store.state is ConnectionState.CONNECTING and stuck != store.state:
            if now >= store.since + profile.key_store_connect:
                store.since += profile.key_store_connect
                store.error_code = self._connect(store)
                store.state = (
                    ConnectionState.FAILED
                    if store.error_code
                    else ConnectionState.CONNECTED
                )
        if store.state is ConnectionState.DISCONNECTING and stuck != store.state:
            if now >= store.since + profile.key_store_disconnect:
                store.since += profile.key_store_disconnect
                store.state = ConnectionState.DISCONNECTED

    def _connect(self, store: CustomKeyStore) -> str | None:
        """Log in as kmsuser and rotate its password; the error code on failure."""
        forced = self._emulator.faults.forced_connect_error()
        if forced:
            return forced
        cluster = self._cluster_or_none(store.cluster_id)
        if cluster is None:
            return "CLUSTER_NOT_FOUND"
        problem = self._cluster_problem(cluster)
        if problem:
            return problem
        return _rotate_kmsuser_password(cluster, store)

    def _cluster_problem(self, cluster: Cluster) -> str | None:
        existing = moto_internals.subnet_ids(self._emulator.region)
        for subnet_id in cluster.subnet_mapping.values():
            if subnet_id not in existing:
                return "SUBNET_NOT_FOUND"
        active = cluster.active_hsm_ids()
        if not active:
            return "INSUFFICIENT_CLOUDHSM_HSMS"
        simulator = cluster.simulator
        if any(KMS_USER not in simulator.users_on(h) for h in active):
            return "USER_NOT_FOUND"
        if simulator.is_logged_in_elsewhere(KMS_USER):
            return "USER_LOGGED_IN"
        return None

    # Lookups and checks.

    def _store(self, custom_key_store_id: str) -> CustomKeyStore:
        store = self._stores.get(custom_key_store_id)
        if store is None:
            raise KmsError(
                "CustomKeyStoreNotFoundException",
                f"Custom key store {custom_key_store_id or '(none)'} does not exist "
                "in this account and Region. DescribeCustomKeyStores lists them.",
            )
        return store

    def _selected_stores(self, params: dict[str, Any]) -> list[CustomKeyStore]:
        store_id, name = (
            params.get("CustomKeyStoreId"),
            params.get("CustomKeyStoreName"),
        )
        if store_id and name:
            raise KmsError(
                "ValidationException",
                "Give CustomKeyStoreId or CustomKeyStoreName, not both.",
            )
        if store_id:
            return [self._store(store_id)]
        if name:
            named = [s for s in self._stores.values() if s.name == name]
            if not named:
                raise KmsError(
                    "CustomKeyStoreNotFoundException",
                    f"No custom key store is named {name!r} in this account and "
                    "Region. DescribeCustomKeyStores without a name lists them.",
                )
            return named
        return sorted(self._stores.values(), key=lambda s: s.created_at)

    def _entry(self, store: CustomKeyStore) -> dict[str, Any]:
        entry = {
            "CustomKeyStoreId": store.custom_key_store_id,
            "CustomKeyStoreName": store.name,
            "CloudHsmClusterId": store.cluster_id,
            "TrustAnchorCertificate": store.trust_anchor,
            "ConnectionState": str(store.state),
            "CreationDate": self._emulator.clock.datetime_at(
                store.created_at
            ).timestamp(),
            "CustomKeyStoreType": STORE_TYPE,
        }
        if store.state is ConnectionState.FAILED:
            entry["ConnectionErrorCode"] = store.error_code
        return entry

    def _keys_in(self, store: CustomKeyStore) -> list[str]:
        return sorted(
            k.key_id
            for k in self._keys.values()
            if k.custom_key_store_id == store.custom_key_store_id
        )

    def _unavailable(self, store_key: StoreKey) -> bool:
        store = self._stores.get(store_key.custom_key_store_id)
        return store is None or store.state is not ConnectionState.CONNECTED

    def _check_name_free(self, name: str) -> None:
        if any(s.name == name for s in self._stores.values()):
            raise KmsError(
                "CustomKeyStoreNameInUseException",
                f"A custom key store named {name!r} already exists in this account "
                "and Region. Choose another CustomKeyStoreName.",
            )

    def _check_name_change(self, store: CustomKeyStore, new_name: str) -> None:
        if store.state not in (
            ConnectionState.CONNECTED,
            ConnectionState.DISCONNECTED,
        ):
            raise _invalid_state(
                store,
                "UpdateCustomKeyStore",
                "Rename it only while it is CONNECTED or DISCONNECTED.",
            )
        self._check_name_free(new_name)

    def _require_disconnected(self, store: CustomKeyStore, action: str) -> None:
        if store.state is not ConnectionState.DISCONNECTED:
            raise _invalid_state(
                store,
                f"to {action}",
                "Disconnect it (DisconnectCustomKeyStore) and wait for "
                "DISCONNECTED first.",
            )

    def _cluster_or_none(self, cluster_id: str) -> Cluster | None:
        cloudhsm = self._emulator.models.cloudhsm
        cluster: Cluster | None = cloudhsm.clusters.get(cluster_id)
        if cluster is None:
            return None
        if cluster.current_state() in ("DELETE_IN_PROGRESS", "DELETED"):
            return None
        return cluster

    def _usable_cluster(self, cluster_id: str) -> Cluster:
        cluster = self._cluster_or_none(cluster_id)
        if cluster is None:
            raise KmsError(
                "CloudHsmClusterNotFoundException",
                f"CloudHSM cluster {cluster_id or '(none)'} was not found in this "
                "account and Region. Check the cluster ID (DescribeClusters).",
            )
        self._check_active(cluster)
        return cluster

    def _check_active(self, cluster: Cluster) -> None:
        state = cluster.current_state()
        if state != "ACTIVE":
            raise KmsError(
                "CloudHsmClusterNotActiveException",
                f"CloudHSM cluster {cluster.cluster_id} is {state}, not ACTIVE. "
                "Initialize and activate the cluster, then try again.",
            )

    def _check_cluster_free(self, cluster: Cluster) -> None:
        for store in self._stores.values():
            other = self._cluster_or_none(store.cluster_id)
            shares_backup = other is not None and (
                other.cluster_certificate == cluster.cluster_certificate
            )
            if store.cluster_id == cluster.cluster_id or shares_backup:
                raise KmsError(
                    "CloudHsmClusterInUseException",
                    f"CloudHSM cluster {cluster.cluster_id} (or a cluster sharing "
                    f"its backup history) already backs custom key store "
                    f"{store.custom_key_store_id}. Use a different cluster.",
                )

    def _check_configuration(self, cluster: Cluster, hsms_needed: int) -> None:
        self._check_security_group(cluster)
        active = set(cluster.active_hsm_ids())
        zones = {h.availability_zone for h in cluster.hsms if h.hsm_id in active}
        if len(zones) < hsms_needed:
            raise KmsError(
                "CloudHsmClusterInvalidConfigurationException",
                f"CloudHSM cluster {cluster.cluster_id} has ACTIVE HSMs in "
                f"{len(zones)} Availability Zone(s); a key store needs at least "
                f"{hsms_needed} ACTIVE HSMs in different Availability Zones. Add "
                "HSMs (CreateHsm) and wait until they are ACTIVE.",
            )

    def _check_security_group(self, cluster: Cluster) -> None:
        rules = moto_internals.security_group_rules(
            self._emulator.region, cluster.security_group_id
        )
        if rules is None or not _allows_cluster_traffic(rules):
            raise KmsError(
                "CloudHsmClusterInvalidConfigurationException",
                f"The security group {cluster.security_group_id} of CloudHSM cluster "
                f"{cluster.cluster_id} no longer allows TCP {HSM_PORTS[0]}-"
                f"{HSM_PORTS[1]} in and out between its members. Restore the rules "
                "CloudHSM created with the cluster.",
            )

    def _related_cluster(self, store: CustomKeyStore, cluster_id: str) -> str:
        cluster = self._usable_cluster(cluster_id)
        current = self._cluster_or_none(store.cluster_id)
        current_certificate = current.cluster_certificate if current else None
        if cluster_id != store.cluster_id and (
            current_certificate != cluster.cluster_certificate
        ):
            raise KmsError(
                "CloudHsmClusterNotRelatedException",
                f"CloudHSM cluster {cluster_id} does not share a backup history with "
                f"cluster {store.cluster_id}. Give a cluster restored from a backup "
                "of the store's cluster.",
            )
        self._check_configuration(cluster, 2)
        return cluster_id


def _rotate_kmsuser_password(cluster: Cluster, store: CustomKeyStore) -> str | None:
    """Log in as kmsuser, then set a password only KMS knows, as AWS does."""
    simulator = cluster.simulator
    try:
        simulator.login(KMS_USER, CRYPTO_USER_ROLE, store.password)
    except HsmCommandError as error:
        return LOGIN_ERRORS.get(error.code, "INTERNAL_ERROR")
    alphabet = string.ascii_letters + string.digits
    rotated = "".join(secrets.choice(alphabet) for _ in range(ROTATED_PASSWORD_LENGTH))
    simulator.change_password(KMS_USER, CRYPTO_USER_ROLE, rotated)
    store.password = rotated
    return None


def _create_params(params: dict[str, Any]) -> tuple[str, str, str, str]:
    store_type = params.get("CustomKeyStoreType") or STORE_TYPE
    if store_type != STORE_TYPE:
        raise KmsError(
            "UnsupportedOperationException",
            f"CustomKeyStoreType {store_type} is not emulated; only {STORE_TYPE} "
            "key stores are.",
        )
    required = (
        "CustomKeyStoreName",
        "CloudHsmClusterId",
        "TrustAnchorCertificate",
        "KeyStorePassword",
    )
    missing = [name for name in required if not params.get(name)]
    if missing:
        raise KmsError(
            "ValidationException",
            f"An {STORE_TYPE} key store needs {', '.join(missing)}; pass "
            f"{'it' if len(missing) == 1 else 'them'}.",
        )
    password = _checked_password(params["KeyStorePassword"])
    return (
        params["CustomKeyStoreName"],
        params["CloudHsmClusterId"],
        params["TrustAnchorCertificate"],
        password,
    )


def _checked_password(password: Any) -> str:
    low, high = PASSWORD_LENGTHS
    if not isinstance(password, str) or not low <= len(password) <= high:
        length = len(password) if isinstance(password, str) else 0
        # AWS's message names the constraint, never the value.
        raise KmsError(
            "ValidationException",
            f"1 validation error detected: Value at 'keyStorePassword' failed to "
            f"satisfy constraint: Member must have length between {low} and "
            f"{high} (got {length} characters). Use the kmsuser password.",
        )
    return password


def _check_store_key_params(params: dict[str, Any]) -> None:
    if params.get("Origin") != STORE_TYPE:
        raise KmsError(
            "UnsupportedOperationException",
            f"Origin {params.get('Origin') or 'AWS_KMS'} is not valid with a "
            f"CustomKeyStoreId; a key in a CloudHSM key store needs Origin "
            f"{STORE_TYPE}.",
        )
    key_spec = params.get("KeySpec") or params.get("CustomerMasterKeySpec")
    key_usage = params.get("KeyUsage") or "ENCRYPT_DECRYPT"
    if key_spec not in (None, "SYMMETRIC_DEFAULT") or key_usage != "ENCRYPT_DECRYPT":
        raise KmsError(
            "UnsupportedOperationException",
            f"KeySpec {key_spec} with KeyUsage {key_usage} is not supported in a "
            "CloudHSM key store; only SYMMETRIC_DEFAULT keys for ENCRYPT_DECRYPT.",
        )
    if params.get("MultiRegion"):
        raise KmsError(
            "UnsupportedOperationException",
            "Multi-Region keys cannot be created in a custom key store; leave "
            "MultiRegion false.",
        )


def _invalid_state(store: CustomKeyStore, action: str, next_step: str) -> KmsError:
    return KmsError(
        "CustomKeyStoreInvalidStateException",
        f"Custom key store {store.custom_key_store_id} is {store.state}, which "
        f"does not allow {action}. {next_step}",
    )


def _marker_position(marker: str | None, count: int) -> int:
    if marker is None:
        return 0
    if not marker.isdigit() or int(marker) > count:
        raise KmsError(
            "InvalidMarkerException",
            f"Marker {marker!r} was not returned by DescribeCustomKeyStores; pass "
            "the NextMarker of the previous page.",
        )
    return int(marker)


def _same_certificate(first_pem: str, second_pem: str) -> bool:
    try:
        first = x509.load_pem_x509_certificate(first_pem.encode())
        second = x509.load_pem_x509_certificate(second_pem.encode())
    except ValueError:
        return False
    return bool(first == second)


def _allows_cluster_traffic(group: SecurityGroupRules) -> bool:
    def covers(rule: SecurityRule, *, egress: bool) -> bool:
        if rule.protocol == "-1" and (egress and rule.cidr == "0.0.0.0/0"):
            return True
        to_self = rule.source_group_id == group.group_id
        ports = (rule.from_port, rule.to_port)
        return bool(rule.protocol in ("tcp", "6") and to_self and ports == HSM_PORTS)

    return any(covers(r, egress=False) for r in group.ingress) and any(
        covers(r, egress=True) for r in group.egress
    )


# HTTP handlers.

KmsHandler = Callable[[KeyStoreModel, EmulatorRequest], dict[str, Any] | None]


def _store_operation(name: str) -> KmsHandler:
    def handle(model: KeyStoreModel, request: EmulatorRequest) -> dict[str, Any]:
        result: dict[str, Any] = getattr(model, name)(request.params)
        return result

    return handle


def _create_key(
    model: KeyStoreModel, request: EmulatorRequest
) -> dict[str, Any] | None:
    params = request.params
    if not params.get("CustomKeyStoreId"):
        if params.get("Origin") == STORE_TYPE:
            raise KmsError(
                "ValidationException",
                f"Origin {STORE_TYPE} needs a CustomKeyStoreId; pass the key "
                "store to create the key in.",
            )
        return None
    return model.create_key(params, request.region)


def _describe_key(
    model: KeyStoreModel, request: EmulatorRequest
) -> dict[str, Any] | None:
    store_key = model.store_key(request.params.get("KeyId"), request.region)
    if store_key is None:
        return None
    return model.key_metadata(store_key.key_id, request.region)


def _enable_key_rotation(
    model: KeyStoreModel, request: EmulatorRequest
) -> dict[str, Any] | None:
    store_key = model.store_key(request.params.get("KeyId"), request.region)
    if store_key is None:
        return None
    raise KmsError(
        "UnsupportedOperationException",
        f"Key {store_key.key_id} has origin {STORE_TYPE}, which is not valid for "
        "automatic key rotation. Rotate keys in a custom key store by hand.",
    )


def _schedule_key_deletion(
    model: KeyStoreModel, request: EmulatorRequest
) -> dict[str, Any] | None:
    # Checked for every key: moto accepts any waiting period and schedules none.
    days = _pending_window_in_days(request.params)
    store_key = model.store_key(request.params.get("KeyId"), request.region)
    if store_key is None:
        return None
    return model.schedule_key_deletion(store_key, days, request.region)


def _pending_window_in_days(params: dict[str, Any]) -> int:
    days = params.get("PendingWindowInDays")
    if days is None:
        return DEFAULT_PENDING_WINDOW_DAYS
    low, high = PENDING_WINDOW_DAYS
    if not isinstance(days, int) or not low <= days <= high:
        raise KmsError(
            "ValidationException",
            f"PendingWindowInDays must be between {low} and {high}, got {days!r}. "
            f"Pass a waiting period of {low} to {high} days, or omit it for "
            f"{DEFAULT_PENDING_WINDOW_DAYS}.",
        )
    return days


def _cancel_key_deletion(
    model: KeyStoreModel, request: EmulatorRequest
) -> dict[str, Any] | None:
    store_key = model.store_key(request.params.get("KeyId"), request.region)
    if store_key is not None:
        model.cancel_key_deletion(store_key)
    return None


def _crypto(model: KeyStoreModel, request: EmulatorRequest) -> dict[str, Any] | None:
    key_id = request.params.get("KeyId") or request.params.get("DestinationKeyId")
    if not key_id and request.params.get("CiphertextBlob"):
        key_id = moto_internals.key_id_in_ciphertext(request.params["CiphertextBlob"])
    store_key = model.store_key(key_id, request.region)
    if store_key is not None:
        model.check_usable(store_key, request.operation)
    return None


HANDLERS: dict[str, KmsHandler] = {
    "CreateCustomKeyStore": _store_operation("create_custom_key_store"),
    "DescribeCustomKeyStores": _store_operation("describe_custom_key_stores"),
    "ConnectCustomKeyStore": _store_operation("connect_custom_key_store"),
    "DisconnectCustomKeyStore": _store_operation("disconnect_custom_key_store"),
    "UpdateCustomKeyStore": _store_operation("update_custom_key_store"),
    "DeleteCustomKeyStore": _store_operation("delete_custom_key_store"),
    "CreateKey": _create_key,
    "DescribeKey": _describe_key,
    "EnableKeyRotation": _enable_key_rotation,
    "ScheduleKeyDeletion": _schedule_key_deletion,
    "CancelKeyDeletion": _cancel_key_deletion,
    **{operation: _crypto for operation in CRYPTO_OPERATIONS},
}


def install(emulator: Emulator) -> None:
    """Put the key store model on the emulator and answer its KMS operations."""
    model = KeyStoreModel(emulator)
    emulator.models.kms_key_stores = model
    for operation, handler in HANDLERS.items():
        emulator.register_operation("kms", operation, _answer(model, handler))


def _answer(
    model: KeyStoreModel, handler: KmsHandler
) -> Callable[[EmulatorRequest], EmulatorResponse | None]:
    def answer(request: EmulatorRequest) -> EmulatorResponse | None:
        with model.lock:
            model.purge_deleted_keys(request.region)
            model.settle()
            try:
                result = handler(model, request)
            except KmsError as error:
                return json_error(400, error.code, error.message)
        return None if result is None else json_response(result)

    return answer
