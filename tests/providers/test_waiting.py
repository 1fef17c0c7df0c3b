"""Unit tests of providers.waiting with a fake clock: nothing sleeps for real."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from providers.errors import FipsKeystoreError, ResourceFailed, WaitTimeout
from providers.waiting import (
    HttpClock,
    IntervalPolicy,
    SystemClock,
    WaitRecord,
    clock_from_environment,
    wait_for,
)


class FakeClock:
    def __init__(self) -> None:
        self.now_seconds = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.now_seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now_seconds += seconds


class RecordingClock(FakeClock):
    """A fake clock that also keeps wait records, as the emulator's clock does."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[WaitRecord] = []

    def record_wait(self, record: WaitRecord) -> None:
        self.records.append(record)


class RecordingLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str) -> None:
        self.lines.append(msg)


def states_by_time(clock: FakeClock, timeline: list[tuple[float, str]]):
    """A describe() that answers the last state whose start time has passed."""

    def describe() -> str:
        current = timeline[0][1]
        for start, state in timeline:
            if clock.now() >= start:
                current = state
        return current

    return describe


def test_next_interval_long_before_expected_completion() -> None:
    policy = IntervalPolicy(expected_seconds=1200, min_interval=5, max_interval=60)

    assert policy.next_interval(0) == 60
    assert policy.next_interval(1150) == 37.5
    assert policy.next_interval(1192) == 6


@pytest.mark.parametrize(
    ("connected_at", "noticed_within"),
    [(1200, 5), (700, 60)],
    ids=["on-time", "early"],
)
def test_wait_for_polls_a_long_operation_sparsely_and_notices_completion(
    connected_at: float, noticed_within: float
) -> None:
    # Near the expected end polls are tight; before it, at most a minute apart.
    clock = RecordingClock()
    describe = states_by_time(clock, [(0, "CONNECTING"), (connected_at, "CONNECTED")])

    wait_for(
        describe,
        is_done=lambda state: state == "CONNECTED",
        resource="store-x",
        expected_seconds=1200,
        timeout_seconds=3600,
        clock=clock,
        max_interval=60,
        log=RecordingLog(),
    )

    (record,) = clock.records
    assert record.outcome == "done" and record.polls <= 24
    assert record.waited_seconds - connected_at <= record.overhead_bound_seconds
    assert record.overhead_bound_seconds <= noticed_within
    assert max(clock.sleeps) <= 60


def test_wait_for_records_timeout_with_polls_and_last_interval() -> None:
    clock = RecordingClock()

    with pytest.raises(WaitTimeout):
        wait_for(
            lambda: "CREATING",
            is_done=lambda state: state == "ACTIVE",
            resource="hsm-x",
            expected_seconds=10,
            timeout_seconds=30,
            clock=clock,
            log=RecordingLog(),
        )

    (record,) = clock.records
    assert (record.resource, record.outcome, record.waited_seconds) == (
        "hsm-x",
        "timeout",
        30,
    )
    assert record.polls == len(clock.sleeps) + 1
    assert record.overhead_bound_seconds == clock.sleeps[-1]


def test_next_interval_backs_off_after_expected_completion() -> None:
    policy = IntervalPolicy(expected_seconds=100, min_interval=5, max_interval=20)

    intervals = [policy.next_interval(elapsed) for elapsed in (100, 105, 112, 123, 140)]

    assert intervals == [5, 7.5, 11.25, 16.875, 20]


def test_wait_for_returns_when_done() -> None:
    clock = FakeClock()
    describe = states_by_time(clock, [(0, "CREATING"), (300, "ACTIVE")])

    result = wait_for(
        describe,
        is_done=lambda state: state == "ACTIVE",
        resource="cluster-x",
        expected_seconds=300,
        timeout_seconds=3600,
        clock=clock,
        log=RecordingLog(),
    )

    assert result == "ACTIVE"
    assert 300 <= clock.now() < 320
    assert len(clock.sleeps) < 12


def test_wait_for_logs_state_changes_and_every_five_minutes() -> None:
    clock = FakeClock()
    log = RecordingLog()
    describe = states_by_time(clock, [(0, "CREATE_IN_PROGRESS"), (1000, "ACTIVE")])

    wait_for(
        describe,
        is_done=lambda state: state == "ACTIVE",
        resource="HSM hsm-1",
        expected_seconds=100,
        timeout_seconds=3600,
        clock=clock,
        max_interval=60,
        log=log,
    )

    assert log.lines == [
        "HSM hsm-1: CREATE_IN_PROGRESS after 0s",
        "HSM hsm-1: CREATE_IN_PROGRESS after 5m18s",
        "HSM hsm-1: CREATE_IN_PROGRESS after 10m18s",
        "HSM hsm-1: CREATE_IN_PROGRESS after 15m18s",
        "HSM hsm-1: ACTIVE after 17m18s",
    ]


def test_wait_for_raises_wait_timeout_naming_state_and_resource() -> None:
    clock = FakeClock()

    with pytest.raises(WaitTimeout) as raised:
        wait_for(
            lambda: "INITIALIZE_IN_PROGRESS",
            is_done=lambda state: state == "INITIALIZED",
            resource="CloudHSM cluster cluster-abc initialization",
            expected_seconds=300,
            timeout_seconds=600,
            clock=clock,
            log=RecordingLog(),
        )

    message = str(raised.value)
    assert message.startswith(
        "CloudHSM cluster cluster-abc initialization: still INITIALIZE_IN_PROGRESS "
        "after waiting 10m00s, past the deadline."
    )
    assert "run `pulumi up` again" in message
    assert raised.value.last_state == "INITIALIZE_IN_PROGRESS"
    assert clock.now() == 600


def test_wait_for_never_sleeps_past_the_deadline() -> None:
    clock = FakeClock()

    with pytest.raises(WaitTimeout):
        wait_for(
            lambda: "PENDING",
            is_done=lambda state: False,
            resource="r",
            expected_seconds=10_000,
            timeout_seconds=90,
            clock=clock,
            log=RecordingLog(),
        )

    assert clock.sleeps == [60, 30]
    assert clock.now() == 90


def test_wait_for_raises_resource_failed_on_failure_state() -> None:
    clock = FakeClock()
    describe = states_by_time(clock, [(0, "CREATE_IN_PROGRESS"), (50, "DEGRADED")])

    with pytest.raises(ResourceFailed) as raised:
        wait_for(
            describe,
            is_done=lambda state: state == "ACTIVE",
            is_failed=lambda state: state == "DEGRADED",
            resource="HSM hsm-2",
            expected_seconds=60,
            timeout_seconds=600,
            clock=clock,
            log=RecordingLog(),
            next_step="Delete the HSM and add another.",
        )

    assert str(raised.value) == (
        "HSM hsm-2: reached state DEGRADED. Delete the HSM and add another."
    )


def test_wait_for_reads_state_attribute_of_objects() -> None:
    class Described:
        state = "CONNECTED"

    result = wait_for(
        Described,
        is_done=lambda current: current.state == "CONNECTED",
        resource="r",
        expected_seconds=1,
        timeout_seconds=10,
        clock=FakeClock(),
        log=RecordingLog(),
    )

    assert result.state == "CONNECTED"


def test_clock_from_environment_picks_http_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIPS_KEYSTORE_CLOCK_URL", "http://127.0.0.1:9/_emulator/clock")
    clock = clock_from_environment()
    assert isinstance(clock, HttpClock)
    assert clock.url == "http://127.0.0.1:9/_emulator/clock"

    monkeypatch.delenv("FIPS_KEYSTORE_CLOCK_URL")
    assert isinstance(clock_from_environment(), SystemClock)


def test_http_clock_now_and_sleep_speak_the_clock_protocol() -> None:
    requests: list[tuple[str, str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(("GET", self.path, b""))
            self._answer(12.5)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            requests.append(("POST", self.path, body))
            self._answer(12.5 + json.loads(body)["seconds"])

        def _answer(self, now: float) -> None:
            payload = json.dumps({"now": now}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        clock = HttpClock(f"http://127.0.0.1:{server.server_port}/_emulator/clock")
        assert clock.now() == 12.5
        clock.sleep(30)
    finally:
        server.shutdown()

    assert requests == [
        ("GET", "/_emulator/clock", b""),
        ("POST", "/_emulator/clock/sleep", b'{"seconds": 30}'),
    ]


def test_http_clock_unreachable_says_what_to_do() -> None:
    clock = HttpClock("http://127.0.0.1:9/_emulator/clock", timeout_seconds=2)

    with pytest.raises(FipsKeystoreError) as raised:
        clock.now()

    assert "did not answer" in str(raised.value)
    assert "unset FIPS_KEYSTORE_CLOCK_URL" in str(raised.value)


def test_http_clock_record_wait_unanswered_keeps_the_wait_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = HttpClock("http://127.0.0.1:9/_emulator/clock", timeout_seconds=2)

    clock.record_wait(WaitRecord("cluster-x", "done", 300.0, 5, 1.0))

    assert "wait of cluster-x not recorded" in caplog.text
    assert "did not answer" in caplog.text


def test_format_in_progress_line_is_not_printed_to_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = RecordingLog()
    wait_for(
        lambda: "DONE",
        is_done=lambda state: True,
        resource="r",
        expected_seconds=1,
        timeout_seconds=1,
        clock=FakeClock(),
        log=log,
    )
    assert capsys.readouterr().out == ""
    assert log.lines == ["r: DONE after 0s"]
