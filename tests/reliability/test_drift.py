"""Drift after a deployment: refresh shows it, the next `up` repairs it.

Runs on the scenario's deployment (conftest.py), after the interrupted chain
converged: first the key store is disconnected out of band, then the second HSM
is deleted out of band.
"""

from __future__ import annotations

from tests.reliability.conftest import Scenario, operation_of


def test_refresh_with_key_store_disconnected_reports_drift(scenario: Scenario) -> None:
    refresh = scenario.drift["disconnected_refresh"]

    assert refresh.checks["refresh"].startswith("fail: drift in key-store-connection")
    assert operation_of(refresh, "key-store-connection") == "drift"
    assert scenario.drift["disconnected_state"] == "DISCONNECTED"


def test_up_after_key_store_disconnected_reconnects_it(scenario: Scenario) -> None:
    up = scenario.drift["reconnect_up"]

    assert up.error is None
    assert operation_of(up, "key-store-connection") == "update"
    assert scenario.drift["store_after_up"] == "CONNECTED"
    assert up.checks["key_encrypts_and_decrypts"] == "pass"


def test_refresh_with_hsm_deleted_drops_it_from_state(scenario: Scenario) -> None:
    refresh = scenario.drift["hsm_refresh"]
    deleted = scenario.drift["deleted_hsm"]

    assert refresh.error is None
    assert "cluster-hsm-1: gone from the emulator" in refresh.checks["refresh"]
    assert (
        "cluster-coverage: the provider reports a difference"
        in (refresh.checks["refresh"])
    )
    assert deleted not in scenario.drift["hsm_in_state_after_refresh"]
    assert len(scenario.drift["hsm_in_state_after_refresh"]) == 1


def test_up_after_hsm_deleted_replaces_it_with_kmsuser_on_it(
    scenario: Scenario,
) -> None:
    up = scenario.drift["replace_up"]
    facts = scenario.drift["facts"]

    assert up.error is None
    assert operation_of(up, "cluster-hsm-1") == "create"
    assert operation_of(up, "cluster-coverage") == "update"
    hsm_ids = {hsm["HsmId"] for hsm in facts["hsms"]}
    assert len(hsm_ids) == 2 and scenario.drift["deleted_hsm"] not in hsm_ids
    assert [user["cluster-coverage"] for user in facts["kmsusers"]] == ["full"]
    assert scenario.drift["coverage"] == {"admin": "full", "kmsuser": "full"}
    assert scenario.drift["coverage_ips"] == sorted(h["EniIp"] for h in facts["hsms"])
    assert set(up.checks.values()) == {"pass"}
