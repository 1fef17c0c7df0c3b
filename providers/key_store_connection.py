"""Connects the KMS custom key store to its CloudHSM cluster and keeps it so.

Connecting is asynchronous and takes up to about half an hour. A FAILED
connection is explained by its ConnectionErrorCode; NETWORK_ERRORS and
INTERNAL_ERROR are transient and retried (disconnect, connect again) up to
`max_connect_attempts` times, each attempt waiting up to `timeout_seconds`.
Refresh reads the live state, and `pulumi up` reconnects a store found
disconnected. KMS allows five custom key store calls per second per account:
each operation here spaces its own calls at least a second apart (on the
emulator's clock in a rehearsal), so with pulumi-aws's own calls the account
stays under the quota even in a burst.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pulumi
from botocore.exceptions import BotoCoreError, ClientError
from pulumi import ResourceOptions
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from providers import aws
from providers._inputs import InputCheck, as_int, changed_inputs, input_props
from providers.errors import KeyStoreConnectionError, WaitTimeout
from providers.store_keys import keys_in_store, moment
from providers.waiting import Clock, clock_from_environment, wait_for

CUSTOM_KEY_STORE_ID_PATTERN = re.compile(r"^cks-[a-z0-9]{1,60}$")
EXPECTED_CONNECT_SECONDS = 1200
EXPECTED_DISCONNECT_SECONDS = 120
GONE = "GONE"
KEY_STORE_CALL_SPACING_SECONDS = 1.0
CLEANUP_COMMAND = "python -m providers.cleanup"


class ConnectionState(StrEnum):
    CONNECTED = "CONNECTED"
    CONNECTING = "CONNECTING"
    FAILED = "FAILED"
    DISCONNECTED = "DISCONNECTED"
    DISCONNECTING = "DISCONNECTING"


RETRIED_ERRORS = frozenset({"NETWORK_ERRORS", "INTERNAL_ERROR"})

# What each documented ConnectionErrorCode of a CloudHSM key store means, and
# what to do about it (from the KMS API reference, ConnectionErrorCodeType).
CONNECTION_ERROR_ADVICE = {
    "INVALID_CREDENTIALS": (
        "The key store password does not match the kmsuser password in the "
        "cluster. Set a new kmsuser password on the cluster, update the key store "
        "with `aws kms update-custom-key-store --key-store-password`, then run "
        "`pulumi up` again."
    ),
    "CLUSTER_NOT_FOUND": (
        "KMS cannot find the CloudHSM cluster of the key store. Check that the "
        "cluster exists in this account and Region; if it was deleted, restore it "
        "from a backup and associate it with the key store."
    ),
    "NETWORK_ERRORS": (
        "Network errors kept KMS from reaching the cluster. Check that the "
        "cluster's security group still allows its own traffic and that the "
        "subnets and route tables are intact."
    ),
    "INTERNAL_ERROR": (
        "KMS failed internally. Run `pulumi up` again later; if it keeps failing, "
        "contact AWS Support."
    ),
    "INSUFFICIENT_CLOUDHSM_HSMS": (
        "The cluster has no ACTIVE HSM (a key store needs two in different "
        "Availability Zones). Add HSMs, wait until they are ACTIVE, then run "
        "`pulumi up` again."
    ),
    "USER_LOCKED_OUT": (
        "kmsuser is locked out after too many failed logins. Change its password "
        "on the cluster as admin, update the key store password to match, then "
        "run `pulumi up` again."
    ),
    "USER_NOT_FOUND": (
        "kmsuser is missing on at least one HSM of the cluster. Check `user list` "
        "on the admin instance (cluster-coverage must be full), create or "
        "synchronise kmsuser, update the key store password, then run `pulumi up` "
        "again."
    ),
    "USER_LOGGED_IN": (
        "kmsuser is logged in to the cluster, so KMS cannot rotate its password. "
        "Log kmsuser out of every client session (or reboot the admin instance), "
        "then run `pulumi up` again."
    ),
    "SUBNET_NOT_FOUND": (
        "A subnet of the cluster was deleted. Create a cluster from a recent "
        "backup in existing subnets and associate it with the key store."
    ),
    "INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET": (
        "A cluster subnet has no free IP address (KMS needs one per subnet, two "
        "are better). Free addresses or use larger subnets, then run `pulumi up` "
        "again."
    ),
}


@dataclass(frozen=True)
class KeyStore:
    """The connection state of a custom key store, and its error code if FAILED."""

    custom_key_store_id: str
    state: str
    error_code: str = ""


class KeyStoreApi:
    """The KMS custom key store calls of one operation, spaced under the quota."""

    def __init__(self, region: str | None, clock: Clock | None = None) -> None:
        self.kms = aws.client("kms", region)
        self.clock = clock or clock_from_environment()
        self._last_call: float | None = None

    def call(self, operation: str, **params: Any) -> Any:
        """Call a KMS operation once at least the spacing passed since the last."""
        if self._last_call is not None:
            gap = self._last_call + KEY_STORE_CALL_SPACING_SECONDS - self.clock.now()
            if gap > 0:
                self.clock.sleep(gap)
        self._last_call = self.clock.now()
        return getattr(self.kms, operation)(**params)


def describe_key_store(
    custom_key_store_id: str, region: str | None, api: KeyStoreApi | None = None
) -> KeyStore:
    """The key store's connection state now; state GONE when it does not exist."""
    api = api or KeyStoreApi(region)
    try:
        reply = api.call(
            "describe_custom_key_stores", CustomKeyStoreId=custom_key_store_id
        )
    except api.kms.exceptions.CustomKeyStoreNotFoundException:
        return KeyStore(custom_key_store_id, GONE)
    entry = reply["CustomKeyStores"][0]
    return KeyStore(
        custom_key_store_id,
        str(entry.get("ConnectionState", GONE)),
        str(entry.get("ConnectionErrorCode", "")),
    )


def connect(props: dict[str, Any]) -> KeyStore:
    """Bring the key store to CONNECTED, retrying transient failures."""
    store_id, api = props["custom_key_store_id"], KeyStoreApi(props.get("region"))
    attempts = as_int(props["max_connect_attempts"])
    store = _settle(describe_key_store(store_id, None, api), props, api)

    for attempt in range(1, attempts + 1):
        if store.state == ConnectionState.CONNECTED:
            return store
        if store.state != ConnectionState.CONNECTING:
            store = _reset_if_failed(store, props, api)
            api.call("connect_custom_key_store", CustomKeyStoreId=store_id)
        store = _wait_connected(store_id, props, api)
        if store.state == ConnectionState.CONNECTED:
            return store
        if store.error_code not in RETRIED_ERRORS or attempt == attempts:
            break
        pulumi.log.warn(
            f"Custom key store {store_id}: connection attempt {attempt} of "
            f"{attempts} failed with {store.error_code}; trying again."
        )
    raise _connection_error(store, attempts)


def disconnect(props: dict[str, Any]) -> KeyStore:
    """Bring the key store to DISCONNECTED; a missing store counts as done."""
    store_id, api = props["custom_key_store_id"], KeyStoreApi(props.get("region"))
    store = describe_key_store(store_id, None, api)
    if store.state in (GONE, ConnectionState.DISCONNECTED):
        return store
    if store.state != ConnectionState.DISCONNECTING:
        api.call("disconnect_custom_key_store", CustomKeyStoreId=store_id)
    return _wait_disconnected(store_id, props, api)


class KeyStoreConnectionProvider(ResourceProvider):
    """Connect on create and update, disconnect on delete, live state on read."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = InputCheck(news)
        inputs.region()
        inputs.text(
            "custom_key_store_id",
            CUSTOM_KEY_STORE_ID_PATTERN,
            "a KMS custom key store id (cks-...)",
        )
        inputs.integer("timeout_seconds", 60, 86400, default=3600)
        inputs.integer("max_connect_attempts", 1, 10, default=3)
        return inputs.result()

    def create(self, props: dict[str, Any]) -> CreateResult:
        store = connect(props)
        outs = {**props, "connection_state": store.state}
        return CreateResult(f"{props['custom_key_store_id']}-connection", outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        store = describe_key_store(props["custom_key_store_id"], props.get("region"))
        return ReadResult(id_, {**props, "connection_state": store.state})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = changed_inputs(olds, news, KeyStoreConnectionArgs)
        replaces = [n for n in changed if n in ("region", "custom_key_store_id")]
        drifted = olds.get("connection_state") != ConnectionState.CONNECTED
        return DiffResult(
            changes=bool(changed) or drifted,
            replaces=replaces,
            delete_before_replace=True,
        )

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> UpdateResult:
        store = connect(news)
        return UpdateResult({**olds, **news, "connection_state": store.state})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        store_id = props["custom_key_store_id"]
        try:
            disconnect(props)
        except WaitTimeout as error:
            # Failing here would stop `pulumi destroy` before the HSMs and the
            # cluster, which bill by the hour; the record stays either way.
            pulumi.log.warn(
                f"{error} `pulumi destroy` goes on so that the HSMs and the cluster "
                f"stop billing; {CLEANUP_COMMAND} --custom-key-store-id {store_id} "
                "disconnects and deletes the record later."
            )
        try:
            notice = what_stays(store_id, props.get("region"))
        except (ClientError, BotoCoreError) as error:
            # Only the notice is lost: the store is disconnected already.
            notice = (
                f"Custom key store {store_id} stays in the account; its keys could "
                f"not be listed ({aws.error_code(error) or error}). Once they are "
                f"gone, run `{CLEANUP_COMMAND} --custom-key-store-id {store_id}`."
            )
        if notice:
            pulumi.log.info(notice)


def what_stays(custom_key_store_id: str, region: str | None) -> str | None:
    """What `pulumi destroy` leaves of the key store, and when it can go.

    None while a key of the store is live: the store is still in use (its
    connection is being replaced, not destroyed).
    """
    keys = keys_in_store(custom_key_store_id, region)
    if any(key.deletion_date is None for key in keys):
        return None
    command = f"{CLEANUP_COMMAND} --custom-key-store-id {custom_key_store_id}"
    if region:
        command += f" --region {region}"
    if not keys:
        return (
            f"Custom key store {custom_key_store_id} holds no key and stays in the "
            f"account (it counts against the quota of 10): delete it with `{command}`."
        )
    last = max(key.deletion_date for key in keys if key.deletion_date)
    pending = "; ".join(key.describe() for key in keys)
    return (
        f"Custom key store {custom_key_store_id} stays in the account, disconnected "
        f"and free of charge: KMS deletes a key store only once none of its keys "
        f"remains ({pending}). After {moment(last)} run `{command}`."
    )


def _settle(store: KeyStore, props: dict[str, Any], api: KeyStoreApi) -> KeyStore:
    """Let a disconnect that is under way finish before connecting."""
    if store.state == GONE:
        raise KeyStoreConnectionError(
            store.custom_key_store_id,
            "CUSTOM_KEY_STORE_NOT_FOUND",
            "The key store does not exist in this account and Region. Check the "
            "custom_key_store_id input, or run `pulumi refresh` if it was deleted.",
        )
    if store.state == ConnectionState.DISCONNECTING:
        return _wait_disconnected(store.custom_key_store_id, props, api)
    return store


def _reset_if_failed(
    store: KeyStore, props: dict[str, Any], api: KeyStoreApi
) -> KeyStore:
    """KMS connects a FAILED store only after it is disconnected."""
    if store.state != ConnectionState.FAILED:
        return store
    api.call("disconnect_custom_key_store", CustomKeyStoreId=store.custom_key_store_id)
    return _wait_disconnected(store.custom_key_store_id, props, api)


def _wait_connected(store_id: str, props: dict[str, Any], api: KeyStoreApi) -> KeyStore:
    return wait_for(
        lambda: describe_key_store(store_id, None, api),
        is_done=lambda store: (
            store.state in (ConnectionState.CONNECTED, ConnectionState.FAILED, GONE)
        ),
        resource=f"Custom key store {store_id} connection",
        expected_seconds=EXPECTED_CONNECT_SECONDS,
        timeout_seconds=as_int(props["timeout_seconds"]),
        clock=api.clock,
        next_step=(
            "Connecting can take 30 minutes. Check `aws kms "
            f"describe-custom-key-stores --custom-key-store-id {store_id}`, then "
            "run `pulumi up` again, which adopts a connection under way."
        ),
    )


def _wait_disconnected(
    store_id: str, props: dict[str, Any], api: KeyStoreApi
) -> KeyStore:
    return wait_for(
        lambda: describe_key_store(store_id, None, api),
        is_done=lambda store: store.state in (ConnectionState.DISCONNECTED, GONE),
        resource=f"Custom key store {store_id} disconnection",
        expected_seconds=EXPECTED_DISCONNECT_SECONDS,
        timeout_seconds=as_int(props["timeout_seconds"]),
        clock=api.clock,
        next_step=(
            "Check `aws kms describe-custom-key-stores --custom-key-store-id "
            f"{store_id}`, then run the operation again."
        ),
    )


def _connection_error(store: KeyStore, attempts: int) -> KeyStoreConnectionError:
    code = store.error_code or store.state
    advice = CONNECTION_ERROR_ADVICE.get(
        code,
        "See https://docs.aws.amazon.com/kms/latest/developerguide/"
        "fix-keystore.html#fix-keystore-failed for this code.",
    )
    if code in RETRIED_ERRORS:
        advice = f"Failed {attempts} times. {advice}"
    return KeyStoreConnectionError(store.custom_key_store_id, code, advice)


@dataclass
class KeyStoreConnectionArgs:
    custom_key_store_id: pulumi.Input[str]
    region: pulumi.Input[str] | None = None
    timeout_seconds: pulumi.Input[int] = 3600
    max_connect_attempts: pulumi.Input[int] = 3


class KeyStoreConnection(pulumi.dynamic.Resource, name="KeyStoreConnection"):
    """The custom key store, connected to its cluster."""

    custom_key_store_id: pulumi.Output[str]
    connection_state: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: KeyStoreConnectionArgs,
        opts: ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            KeyStoreConnectionProvider(),
            resource_name,
            {**input_props(args), "connection_state": None},
            ResourceOptions.merge(opts, ResourceOptions(additional_secret_outputs=[])),
        )
