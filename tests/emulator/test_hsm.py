"""The HSM simulator: activation, users, lockout and per-HSM coverage."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest

from rehearsal.emulator.hsm import HsmCommandError, HsmSimulator


@dataclass
class FakeCluster:
    cluster_id: str = "cluster-aaaaaaaaaaa"
    state: str = "INITIALIZED"
    active: list[str] = field(default_factory=lambda: ["hsm-first"])

    def current_state(self) -> str:
        return self.state

    def active_hsm_ids(self) -> list[str]:
        return list(self.active)


def simulator(activated: bool = True) -> tuple[HsmSimulator, FakeCluster]:
    cluster = FakeCluster()
    hsm = HsmSimulator(cluster)
    hsm.add_hsm("hsm-first")
    if activated:
        hsm.activate("adminPassword1")
    return hsm, cluster


def command_error(call: object, *args: str) -> HsmCommandError:
    with pytest.raises(HsmCommandError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value


def test_list_users_before_activation_shows_unactivated_admin() -> None:
    hsm, _ = simulator(activated=False)

    users = {u["username"]: u["role"] for u in hsm.list_users()}

    assert users == {
        "admin": "unactivated-admin",
        "app_user": "internal(APPLIANCE_USER)",
    }


def test_activate_sets_admin_password() -> None:
    hsm, _ = simulator()

    hsm.login("admin", "admin", "adminPassword1")

    assert hsm.activated
    assert hsm.list_users()[0] == {
        "username": "admin",
        "role": "admin",
        "locked": "false",
        "mfa": [],
        "cluster-coverage": "full",
    }


def test_activate_uninitialized_cluster_refused() -> None:
    hsm, cluster = simulator(activated=False)
    cluster.state = "UNINITIALIZED"

    error = command_error(hsm.activate, "adminPassword1")

    assert error.code == "CLUSTER_NOT_INITIALIZED"
    assert error.message.startswith(
        "Cannot activate cluster cluster-aaaaaaaaaaa in state UNINITIALIZED"
    )


def test_activate_twice_refused() -> None:
    hsm, _ = simulator()

    error = command_error(hsm.activate, "otherPassword1")

    assert error.code == "CLUSTER_ALREADY_ACTIVATED"


def test_create_user_before_activation_refused() -> None:
    hsm, _ = simulator(activated=False)

    error = command_error(hsm.create_user, "kmsuser", "crypto-user", "kmsPassword1")

    assert error.code == "CLUSTER_NOT_ACTIVATED"
    assert error.message.endswith("Run `cluster activate` first.")


def test_create_user_then_login_succeeds() -> None:
    hsm, _ = simulator()

    hsm.create_user("KmsUser", "crypto-user", "kmsPassword1")
    hsm.login("kmsuser", "crypto-user", "kmsPassword1")

    assert "kmsuser" in hsm.users_on("hsm-first")


def test_create_user_twice_refused() -> None:
    hsm, _ = simulator()
    hsm.create_user("kmsuser", "crypto-user", "kmsPassword1")

    error = command_error(hsm.create_user, "kmsuser", "crypto-user", "kmsPassword1")

    assert error.code == "USER_ALREADY_EXISTS"
    assert error.message.startswith("User kmsuser already exists.")


@pytest.mark.parametrize("username", ["", "a" * 32, "kms-user", "kms user"])
def test_create_user_bad_username_refused(username: str) -> None:
    hsm, _ = simulator()

    error = command_error(hsm.create_user, username, "crypto-user", "kmsPassword1")

    assert error.code == "INVALID_USERNAME"
    assert "1 to 31 characters from a-z, A-Z, 0-9 and _" in error.message


@pytest.mark.parametrize("password", ["short6", "p" * 33])
def test_create_user_bad_password_length_refused(password: str) -> None:
    hsm, _ = simulator()

    error = command_error(hsm.create_user, "kmsuser", "crypto-user", password)

    assert error.code == "INVALID_PASSWORD"
    assert password not in error.message
    assert "7 to 32 characters" in error.message


def test_create_user_bad_role_refused() -> None:
    hsm, _ = simulator()

    error = command_error(hsm.create_user, "kmsuser", "officer", "kmsPassword1")

    assert (error.code, error.message) == (
        "INVALID_ROLE",
        "Invalid role 'officer': use one of admin, crypto-user.",
    )


def test_login_wrong_password_counts_failures() -> None:
    hsm, _ = simulator()
    hsm.create_user("kmsuser", "crypto-user", "kmsPassword1")

    error = command_error(hsm.login, "kmsuser", "crypto-user", "wrongPassword")

    assert error.code == "LOGIN_FAILED"
    assert "(1 of 5 attempts before lockout)" in error.message
    assert "wrongPassword" not in error.message


def test_login_five_failures_lock_user_out() -> None:
    hsm, _ = simulator()
    hsm.create_user("kmsuser", "crypto-user", "kmsPassword1")
    for _ in range(5):
        command_error(hsm.login, "kmsuser", "crypto-user", "wrongPassword")

    error = command_error(hsm.login, "kmsuser", "crypto-user", "kmsPassword1")

    assert error.code == "USER_LOCKED_OUT"
    assert [u["locked"] for u in hsm.list_users() if u["username"] == "kmsuser"] == [
        "true"
    ]


def test_login_success_resets_failure_count() -> None:
    hsm, _ = simulator()
    hsm.create_user("kmsuser", "crypto-user", "kmsPassword1")
    for _ in range(4):
        command_error(hsm.login, "kmsuser", "crypto-user", "wrongPassword")

    hsm.login("kmsuser", "crypto-user", "kmsPassword1")
    error = command_error(hsm.login, "kmsuser", "crypto-user", "wrongPassword")

    assert "(1 of 5 attempts" in error.message


def test_login_wrong_role_refused() -> None:
    hsm, _ = simulator()
    hsm.create_user("kmsuser", "crypto-user", "kmsPassword1")

    error = command_error(hsm.login, "kmsuser", "admin", "kmsPassword1")

    assert error.code == "LOGIN_FAILED"


def test_login_unknown_user_refused() -> None:
    hsm, _ = simulator()

    error = command_error(hsm.login, "nobody", "crypto-user", "kmsPassword1")

    assert error.code == "USER_NOT_FOUND"
    assert error.message.startswith("User nobody does not exist on any active HSM")


def test_change_password_unlocks_and_replaces_password() -> None:
    hsm, _ = simulator()
    hsm.create_user("kmsuser", "crypto-user", "kmsPassword1")
    for _ in range(5):
        command_error(hsm.login, "kmsuser", "crypto-user", "wrongPassword")

    hsm.change_password("kmsuser", "crypto-user", "rotatedPassword2")

    hsm.login("kmsuser", "crypto-user", "rotatedPassword2")
    assert not hsm.verify_password("kmsuser", "kmsPassword1")


def test_delete_user_removes_it() -> None:
    hsm, _ = simulator()
    hsm.create_user("kmsuser", "crypto-user", "kmsPassword1")

    hsm.delete_user("kmsuser", "crypto-user")

    assert "kmsuser" not in [u["username"] for u in hsm.list_users()]


def test_delete_user_admin_refused() -> None:
    hsm, _ = simulator()

    error = command_error(hsm.delete_user, "admin", "admin")

    assert error.code == "USER_DELETE_REFUSED"


def test_list_users_partial_when_hsm_missed_user() -> None:
    hsm, cluster = simulator()
    hsm.create_user("kmsuser", "crypto-user", "kmsPassword1")
    hsm.add_hsm("hsm-second")
    hsm.create_user("late", "crypto-user", "latePassword1")

    cluster.active.append("hsm-second")
    coverage = {u["username"]: u["cluster-coverage"] for u in hsm.list_users()}

    assert coverage == {
        "admin": "full",
        "app_user": "full",
        "kmsuser": "full",
        "late": "partial",
    }
    assert hsm.users_on("hsm-second") == ["admin", "app_user", "kmsuser"]


def test_mark_logged_in_elsewhere_is_reported() -> None:
    hsm, _ = simulator()
    hsm.create_user("kmsuser", "crypto-user", "kmsPassword1")

    hsm.mark_logged_in_elsewhere("kmsuser")
    marked = hsm.is_logged_in_elsewhere("kmsuser")
    hsm.mark_logged_in_elsewhere("kmsuser", logged_in=False)

    assert marked
    assert not hsm.is_logged_in_elsewhere("kmsuser")


def test_snapshot_restores_users_without_plain_passwords() -> None:
    hsm, cluster = simulator()
    hsm.create_user("kmsuser", "crypto-user", "kmsPassword1")

    snapshot = hsm.snapshot()
    restored = HsmSimulator(cluster, snapshot)
    restored.add_hsm("hsm-first")

    assert "kmsPassword1" not in repr(snapshot)
    assert restored.activated
    restored.login("kmsuser", "crypto-user", "kmsPassword1")


def test_passwords_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hsm, _ = simulator()
    hsm.create_user("kmsuser", "crypto-user", "kmsPassword1")
    command_error(hsm.login, "kmsuser", "crypto-user", "wrongPassword")

    assert "kmsPassword1" not in caplog.text
    assert "wrongPassword" not in caplog.text
    assert "adminPassword1" not in caplog.text
