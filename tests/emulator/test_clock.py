"""The simulated clock: deterministic jumps, the participants rule, dates."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime

import pytest

from rehearsal.emulator import PROFILES, Emulator, SimulatedClock


def sleep_in_thread(clock: SimulatedClock, seconds: float) -> threading.Thread:
    thread = threading.Thread(target=clock.sleep, args=(seconds,), daemon=True)
    thread.start()
    return thread


def wait_for_sleepers(clock: SimulatedClock, count: int) -> None:
    # Real time only until the other threads have registered; no fixed sleep.
    for _ in range(10000):
        if len(clock._wake_times) >= count:
            return
        threading.Event().wait(0.001)
    raise AssertionError(f"{count} sleepers never registered")


def test_sleep_single_sleeper_jumps_at_once() -> None:
    clock = SimulatedClock()

    woke_at = clock.sleep(300)

    assert woke_at == 300
    assert clock.now() == 300


def test_sleep_zero_returns_without_moving() -> None:
    clock = SimulatedClock()

    assert clock.sleep(0) == 0
    assert clock.now() == 0


def test_sleep_waits_for_every_participant() -> None:
    clock = SimulatedClock()
    clock.add_participants(2)

    first = sleep_in_thread(clock, 50)
    wait_for_sleepers(clock, 1)
    now_with_one_asleep = clock.now()
    woke_at = clock.sleep(20)
    clock.add_participants(-1)
    first.join(timeout=5)

    assert now_with_one_asleep == 0
    assert woke_at == 20
    assert not first.is_alive()
    assert clock.now() == 50


def test_sleep_jumps_to_earliest_wake_time() -> None:
    clock = SimulatedClock()
    clock.add_participants(3)
    short, middle, long = (sleep_in_thread(clock, s) for s in (10, 30, 60))

    short.join(timeout=5)
    # Two sleepers of three participants: time must not move any further.
    now_after_short = clock.now()
    clock.add_participants(-3)
    for thread in (middle, long):
        thread.join(timeout=5)

    assert now_after_short == 10
    assert not middle.is_alive() and not long.is_alive()
    assert clock.now() == 60


def test_add_participants_decrease_releases_sleepers() -> None:
    clock = SimulatedClock()
    clock.add_participants(2)
    sleeper = sleep_in_thread(clock, 15)
    wait_for_sleepers(clock, 1)

    clock.add_participants(-1)
    sleeper.join(timeout=5)

    assert clock.now() == 15
    assert not sleeper.is_alive()


def test_add_participants_below_zero_refused() -> None:
    clock = SimulatedClock()

    with pytest.raises(ValueError, match="participants would drop to -1"):
        clock.add_participants(-1)


def test_advance_moves_time_and_wakes_due_sleepers() -> None:
    clock = SimulatedClock()
    clock.add_participants(2)
    sleeper = sleep_in_thread(clock, 100)
    wait_for_sleepers(clock, 1)

    clock.advance(30 * 86400)
    sleeper.join(timeout=5)

    assert clock.now() == 30 * 86400
    assert not sleeper.is_alive()


def test_advance_negative_refused() -> None:
    clock = SimulatedClock()

    with pytest.raises(ValueError, match="cannot advance the clock by -5 seconds"):
        clock.advance(-5)


def test_close_wakes_sleepers_without_moving_time() -> None:
    clock = SimulatedClock()
    clock.add_participants(2)
    sleeper = sleep_in_thread(clock, 100)
    wait_for_sleepers(clock, 1)

    clock.close()
    sleeper.join(timeout=5)

    assert not sleeper.is_alive()
    assert clock.now() == 0


def test_datetime_at_counts_from_2026_epoch() -> None:
    clock = SimulatedClock()

    assert clock.datetime_at(0) == datetime(2026, 1, 1, tzinfo=UTC)
    assert clock.datetime_at(3661) == datetime(2026, 1, 1, 1, 1, 1, tzinfo=UTC)


def test_profiles_fast_is_quicker_than_realistic() -> None:
    fast, realistic = PROFILES["fast"], PROFILES["realistic"]

    assert (fast.cluster_create, realistic.cluster_create) == (2, 300)
    assert (fast.key_store_connect, realistic.key_store_connect) == (3, 1200)
    assert fast.invocation_not_found == 0.5


def test_profiles_realistic_has_the_issue_estimates() -> None:
    realistic = dataclasses.asdict(PROFILES["realistic"])

    assert realistic == {
        "name": "realistic",
        "cluster_create": 300,
        "hsm_create": 720,
        "cluster_initialize": 300,
        "instance_ssm_online": 180,
        "client_install": 60,
        "key_store_connect": 1200,
        "key_store_disconnect": 120,
        "hsm_delete": 300,
        "cluster_delete": 180,
        "ssm_command": 5,
        "invocation_not_found": 1,
        "ssm_pending": 1,
    }


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profiles_ssm_phases_fit_in_command_duration(name: str) -> None:
    profile = PROFILES[name]

    assert 0 < profile.invocation_not_found
    assert 0 < profile.ssm_pending
    assert profile.invocation_not_found + profile.ssm_pending < profile.ssm_command


def test_realistic_emulator_uses_realistic_durations(
    realistic_emulator: Emulator,
) -> None:
    assert realistic_emulator.profile.hsm_create == 720
