"""The standalone emulator, `python -m rehearsal.emulator`, in a process of its own,
as a user starts it for `python -m rehearsal --emulator-url`."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import boto3
import pytest

from ._cloudhsm_setup import SSM_POLICY

PROJECT_DIR = Path(__file__).resolve().parents[2]
START_DEADLINE_SECONDS = 60.0
READY_LINE = "# press Ctrl-C to stop"


@dataclass(frozen=True)
class StandaloneEmulator:
    url: str
    printed: list[str]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def read_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)  # the process closed its output: it has exited


def wait_until_ready(
    process: subprocess.Popen[str], lines: queue.Queue[str | None], log: Path
) -> list[str]:
    """The lines printed up to the ready line; real time, bounded by a deadline."""
    printed: list[str] = []
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:
            raise AssertionError(
                f"the emulator exited with code {process.wait()} before it was "
                f"ready:\n{log.read_text()}"
            )
        printed.append(line)
        if line == READY_LINE:
            return printed
    raise AssertionError(
        f"the emulator printed no {READY_LINE!r} within {START_DEADLINE_SECONDS}s; "
        f"it printed {printed}:\n{log.read_text()}"
    )


@pytest.fixture
def standalone(tmp_path: Path, no_real_aws: None) -> Iterator[StandaloneEmulator]:
    """`python -m rehearsal.emulator --port N --profile fast`, stopped afterwards.

    Its environment lacks the moto settings the test fixtures set, so what it
    offers comes from the entry point alone.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOTO_", "AWS_"))}
    log = tmp_path / "emulator.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "rehearsal.emulator", "--port", str(port)]
            + ["--profile", "fast"],
            cwd=PROJECT_DIR,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(
        target=read_lines, args=(process.stdout, lines), daemon=True
    ).start()
    try:
        printed = wait_until_ready(process, lines, log)
        yield StandaloneEmulator(f"http://127.0.0.1:{port}", printed)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def test_standalone_emulator_prints_its_aws_environment(
    standalone: StandaloneEmulator,
) -> None:
    assert f"export AWS_ENDPOINT_URL={standalone.url}" in standalone.printed


def test_standalone_emulator_get_policy_finds_ssm_managed_policy(
    standalone: StandaloneEmulator,
) -> None:
    iam = boto3.client(
        "iam",
        endpoint_url=standalone.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    policy = iam.get_policy(PolicyArn=SSM_POLICY)["Policy"]

    assert policy["PolicyName"] == "AmazonSSMManagedInstanceCore"
    assert policy["Arn"] == SSM_POLICY
