"""The HSM simulator: the users and activation state of one cluster's HSMs.

A cluster's HSMs are replicas, but users are tracked per HSM: an HSM added to
an active cluster is cloned from the others at that moment, so a user created
while it is still being created misses it and has partial cluster coverage,
as on AWS. Passwords are kept as salted hashes and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import EmulatorError

ROLES = ("admin", "crypto-user")
MAX_FAILED_LOGINS = 5
_USERNAME = re.compile(r"[a-zA-Z0-9_]{1,31}")
# Users every HSM has from the start; app_user is the appliance's own account.
_ADMIN = "admin"
_APP_USER = "app_user"


class HsmCommandError(EmulatorError):
    """A cloudhsm-cli command failed; `code` is stable, `message` reads like the CLI."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ClusterView(Protocol):
    """What the simulator needs to know about its cluster."""

    cluster_id: str

    def current_state(self) -> str: ...

    def active_hsm_ids(self) -> list[str]: ...


@dataclass
class HsmUser:
    username: str
    role: str
    salt: bytes = b""
    password_hash: bytes = b""
    failed_logins: int = 0
    hsm_ids: set[str] = field(default_factory=set)
    logged_in_elsewhere: bool = False

    @property
    def locked(self) -> bool:
        return self.failed_logins >= MAX_FAILED_LOGINS

    def set_password(self, password: str) -> None:
        self.salt = secrets.token_bytes(16)
        self.password_hash = _hash(self.salt, password)
        self.failed_logins = 0

    def password_matches(self, password: str) -> bool:
        if not self.password_hash:
            return False
        return hmac.compare_digest(self.password_hash, _hash(self.salt, password))


class HsmSimulator:
    """Users, passwords, lockout and activation of one cluster's HSMs."""

    def __init__(
        self,
        cluster: ClusterView,
        snapshot: dict[str, Any] | None = None,
        lock: threading.RLock | None = None,
    ) -> None:
        self.cluster = cluster
        # Shared with the cluster model: the two call into each other.
        self._lock = lock or threading.RLock()
        self.activated = False
        self._users: dict[str, HsmUser] = {
            _ADMIN: HsmUser(_ADMIN, "unactivated-admin"),
            _APP_USER: HsmUser(_APP_USER, "internal(APPLIANCE_USER)"),
        }
        if snapshot is not None:
            self._restore(snapshot)

    def activate(self, password: str) -> None:
        """Set the admin password: the `cluster activate` command."""
        with self._lock:
            if self.activated:
                raise HsmCommandError(
                    "CLUSTER_ALREADY_ACTIVATED",
                    "Cluster is already activated. Log in as admin instead.",
                )
            self._require_initialized_cluster()
            _check_password(password)
            admin = self._users[_ADMIN]
            admin.role = "admin"
            admin.set_password(password)
            self.activated = True

    def login(self, username: str, role: str, password: str) -> None:
        """Check credentials; five consecutive failures lock the user out."""
        with self._lock:
            user = self._present_user(username.lower())
            if user.locked:
                raise HsmCommandError(
                    "USER_LOCKED_OUT",
                    f"Unable to log in: user {user.username} is locked out after "
                    f"{MAX_FAILED_LOGINS} failed logins. An admin must change "
                    "its password to unlock it.",
                )
            if user.role != role or not user.password_matches(password):
                user.failed_logins += 1
                raise HsmCommandError(
                    "LOGIN_FAILED",
                    "Unable to log in: invalid username, role or password "
                    f"for {username} ({user.failed_logins} of "
                    f"{MAX_FAILED_LOGINS} attempts before lockout).",
                )
            user.failed_logins = 0

    def verify_password(self, username: str, password: str) -> bool:
        """True if `password` is the user's, without counting a failed login."""
        with self._lock:
            user = self._users.get(username.lower())
            return user is not None and user.password_matches(password)

    def create_user(self, username: str, role: str, password: str) -> None:
        """Create a user on every HSM of the cluster that is ACTIVE right now."""
        with self._lock:
            self._require_activated()
            _check_username(username)
            _check_role(role)
            _check_password(password)
            name = username.lower()
            if name in self._users:
                raise HsmCommandError(
                    "USER_ALREADY_EXISTS",
                    f"User {name} already exists. Use `user list` to see it, or "
                    "`user delete` first to recreate it.",
                )
            user = HsmUser(name, role, hsm_ids=set(self.cluster.active_hsm_ids()))
            user.set_password(password)
            self._users[name] = user

    def delete_user(self, username: str, role: str) -> None:
        with self._lock:
            user = self._present_user(username.lower())
            if user.username in (_ADMIN, _APP_USER) or user.role != role:
                raise HsmCommandError(
                    "USER_DELETE_REFUSED",
                    f"Cannot delete user {username} with role {role}: built-in "
                    "users cannot be deleted and the role must match.",
                )
            del self._users[user.username]

    def change_password(self, username: str, role: str, new_password: str) -> None:
        """Set a new password, which also unlocks a locked-out user."""
        with self._lock:
            user = self._present_user(username.lower())
            if user.role != role:
                raise HsmCommandError(
                    "USER_NOT_FOUND",
                    f"User {username} has role {user.role}, not {role}.",
                )
            _check_password(new_password)
            user.set_password(new_password)

    def list_users(self) -> list[dict[str, Any]]:
        """Users as `cloudhsm-cli user list` prints them."""
        with self._lock:
            active = set(self.cluster.active_hsm_ids())
            return [
                {
                    "username": user.username,
                    "role": user.role,
                    "locked": "true" if user.locked else "false",
                    "mfa": [],
                    "cluster-coverage": _coverage(user, active),
                }
                for user in self._users.values()
                if user.hsm_ids & active or not active
            ]

    def users_on(self, hsm_id: str) -> list[str]:
        with self._lock:
            return sorted(
                u.username for u in self._users.values() if hsm_id in u.hsm_ids
            )

    def mark_logged_in_elsewhere(self, username: str, logged_in: bool = True) -> None:
        """Simulate a session left open elsewhere (KMS reports USER_LOGGED_IN)."""
        with self._lock:
            self._present_user(username.lower()).logged_in_elsewhere = logged_in

    def is_logged_in_elsewhere(self, username: str) -> bool:
        with self._lock:
            user = self._users.get(username.lower())
            return user is not None and user.logged_in_elsewhere

    def add_hsm(self, hsm_id: str) -> None:
        """Clone the cluster's users onto a new HSM (called at CreateHsm)."""
        with self._lock:
            held = [u for u in self._users.values() if u.hsm_ids]
            for user in held or self._users.values():
                user.hsm_ids.add(hsm_id)

    def remove_hsm(self, hsm_id: str) -> None:
        with self._lock:
            for user in self._users.values():
                user.hsm_ids.discard(hsm_id)

    def snapshot(self) -> dict[str, Any]:
        """The state a backup keeps (hashes, never passwords)."""
        with self._lock:
            return {
                "activated": self.activated,
                "users": [
                    {
                        "username": u.username,
                        "role": u.role,
                        "salt": u.salt,
                        "password_hash": u.password_hash,
                        "failed_logins": u.failed_logins,
                    }
                    for u in self._users.values()
                ],
            }

    def _restore(self, snapshot: dict[str, Any]) -> None:
        self.activated = bool(snapshot["activated"])
        self._users = {u["username"]: HsmUser(**u) for u in snapshot["users"]}

    def _present_user(self, name: str) -> HsmUser:
        user = self._users.get(name)
        active = set(self.cluster.active_hsm_ids())
        if user is None or not user.hsm_ids & active:
            raise HsmCommandError(
                "USER_NOT_FOUND",
                f"User {name} does not exist on any active HSM of cluster "
                f"{self.cluster.cluster_id}. Run `user list` to see the users.",
            )
        return user

    def _require_initialized_cluster(self) -> None:
        state = self.cluster.current_state()
        if state != "INITIALIZED" or not self.cluster.active_hsm_ids():
            raise HsmCommandError(
                "CLUSTER_NOT_INITIALIZED",
                f"Cannot activate cluster {self.cluster.cluster_id} in state "
                f"{state}: it must be INITIALIZED with an ACTIVE HSM. Initialize "
                "it first (InitializeCluster) and wait.",
            )

    def _require_activated(self) -> None:
        if not self.activated:
            raise HsmCommandError(
                "CLUSTER_NOT_ACTIVATED",
                f"Cluster {self.cluster.cluster_id} is not activated. Run "
                "`cluster activate` first.",
            )


def _coverage(user: HsmUser, active: set[str]) -> str:
    return "full" if active <= user.hsm_ids else "partial"


def _check_username(username: str) -> None:
    if not _USERNAME.fullmatch(username):
        raise HsmCommandError(
            "INVALID_USERNAME",
            f"Invalid username {username!r}: use 1 to 31 characters from "
            "a-z, A-Z, 0-9 and _.",
        )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise HsmCommandError(
            "INVALID_ROLE",
            f"Invalid role {role!r}: use one of {', '.join(ROLES)}.",
        )


def _check_password(password: str) -> None:
    # The message states the rule and never echoes the password.
    if not 7 <= len(password) <= 32:
        raise HsmCommandError(
            "INVALID_PASSWORD",
            f"Invalid password of {len(password)} characters: HSM passwords "
            "must be 7 to 32 characters long.",
        )


def _hash(salt: bytes, password: str) -> bytes:
    return hashlib.sha256(salt + password.encode()).digest()
