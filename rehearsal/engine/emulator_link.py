"""The engine's side of the emulator: start or reattach to it, and use its control API.

For `--step all` the emulator runs in this process. A lone `--step up` starts it as a
background process recorded in `<workdir>/emulator.json`, so a later `--step refresh`
or `--step destroy` finds the same emulated account; destroy stops it at the end.
With `--emulator-url` every step uses an emulator already running and leaves it so.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from rehearsal.engine.errors import EmulatorError

_START_DEADLINE_SECONDS = 30.0
# The program attaches AWS managed policies (AmazonSSMManagedInstanceCore); moto
# knows them only when asked to load them when its IAM backend starts.
MANAGED_POLICIES_VARIABLE = "MOTO_IAM_LOAD_MANAGED_POLICIES"
# moto's 1,300 default AMIs cost seconds when the EC2 backend starts; nothing
# reads images (the AMI id comes from an SSM parameter, RunInstances takes any).
MOTO_VARIABLES = {
    MANAGED_POLICIES_VARIABLE: "true",
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}


class EmulatorLink:
    """HTTP control client for a running emulator (clock, faults, recorded calls)."""

    def __init__(self, url: str, region: str = "us-east-1") -> None:
        self.url = url.rstrip("/")
        self.region = region
        # `--sequential`: one resource operation in flight at a time, as a tool
        # that applies one step after the other would.
        self.one_at_a_time = False
        self._turn = threading.Lock()

    def env(self) -> dict[str, str]:
        """The standard AWS environment that points boto3 at the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "FIPS_KEYSTORE_CLOCK_URL": f"{self.url}/_emulator/clock",
        }

    def now(self) -> float:
        """The simulated time in seconds."""
        return float(self._call("GET", "/_emulator/clock")["now"])

    def advance(self, seconds: float) -> float:
        """Move the simulated clock on by hand (days of a key's waiting period)."""
        reply = self._call("POST", "/_emulator/clock/advance", {"seconds": seconds})
        return float(reply["now"])

    @contextlib.contextmanager
    def participant(self) -> Iterator[None]:
        """Count one in-flight operation, so the clock waits for it to sleep too.

        With `one_at_a_time`, an operation waits for its turn before it counts.
        """
        with self._turn if self.one_at_a_time else contextlib.nullcontext():
            self._call("POST", "/_emulator/clock/participants", {"delta": 1})
            try:
                yield
            finally:
                self._call("POST", "/_emulator/clock/participants", {"delta": -1})

    def waits(self) -> list[dict[str, Any]]:
        """Every wait the waiters reported finished (providers.waiting.WaitRecord)."""
        return list(self._call("GET", "/_emulator/clock/waits").get("waits", []))

    def set_faults(self, faults: dict[str, Any]) -> None:
        """Replace the emulator's fault plan."""
        self._call("POST", "/_emulator/faults", faults)

    def calls(self) -> list[dict[str, Any]]:
        """Every AWS call the emulator answered so far."""
        reply = self._call("GET", "/_emulator/calls")
        return list(reply if isinstance(reply, list) else reply.get("calls", []))

    def about(self) -> dict[str, Any]:
        """The emulator's Region and timing profile."""
        return dict(self._call("GET", "/_emulator/about"))

    def is_up(self) -> bool:
        """True when the emulator answers its clock route."""
        try:
            self.now()
        except EmulatorError:
            return False
        return True

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=600) as reply:
                return json.load(reply)
        except (OSError, ValueError) as error:
            raise EmulatorError(
                f"emulator control call {method} {path} at {self.url} failed "
                f"({error}); check that the emulator is still running"
            ) from error


class RunningEmulator(Protocol):
    """What the engine needs from an emulator it started."""

    link: EmulatorLink
    profile: str

    def stop(self) -> None: ...


class InProcessEmulator:
    """The emulator inside this process: its state ends with the process."""

    def __init__(self, profile: str, workdir: Path, region: str) -> None:
        from rehearsal.emulator import Emulator

        (workdir / "emulator").mkdir(parents=True, exist_ok=True)
        self._saved = {name: os.environ.get(name) for name in MOTO_VARIABLES}
        os.environ.update(MOTO_VARIABLES)
        self._emulator = Emulator(profile, workdir / "emulator", region=region)
        self._emulator.start()
        self.link = EmulatorLink(self._emulator.url, region)
        self.profile = profile

    def stop(self) -> None:
        """Stop the emulator's server."""
        self._emulator.stop()
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class AttachedEmulator:
    """An emulator someone else started (`--emulator-url`): used, never stopped.

    Several stacks rehearsed against one such emulator share one emulated
    account, so one can restore another's backup or adopt its cluster.
    """

    def __init__(self, url: str, region: str, profile: str) -> None:
        self.link = EmulatorLink(url, region)
        if not self.link.is_up():
            raise EmulatorError(
                f"no emulator answers at {url}; start one with `python -m "
                f"rehearsal.emulator --port N --profile {profile}` and pass "
                "--emulator-url http://127.0.0.1:N"
            )
        about = self.link.about()
        if about["region"] != region:
            raise EmulatorError(
                f"the emulator at {url} serves Region {about['region']}, but the "
                f"stack's aws:region is {region}: start the emulator with "
                f"`python -m rehearsal.emulator --port N --region {region}`, or set "
                f"aws:region to {about['region']} in the stack's config"
            )
        # The report names the profile the emulator really runs.
        self.profile = str(about["profile"])

    def stop(self) -> None:
        """Leave the emulator running: its owner stops it."""


class BackgroundEmulator:
    """`python -m rehearsal.emulator` in its own process, recorded in the workdir."""

    def __init__(
        self, record: Path, pid: int, link: EmulatorLink, profile: str
    ) -> None:
        self.record = record
        self.pid = pid
        self.link = link
        self.profile = profile

    @classmethod
    def start(
        cls, profile: str, workdir: Path, project_dir: Path, region: str
    ) -> "BackgroundEmulator":
        """Start the emulator process and record its pid and address."""
        port = _free_port()
        log = (workdir / "emulator.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "rehearsal.emulator", "--port", str(port)]
            + ["--profile", profile, "--region", region],
            cwd=project_dir,
            env={**os.environ, **MOTO_VARIABLES},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        link = EmulatorLink(f"http://127.0.0.1:{port}", region)
        _wait_until_up(link, process)

        record = workdir / "emulator.json"
        details = {"pid": process.pid, "url": link.url, "region": region}
        record.write_text(json.dumps({**details, "profile": profile}))
        return cls(record, process.pid, link, profile)

    @classmethod
    def attach(cls, workdir: Path) -> "BackgroundEmulator":
        """Find the emulator a previous `--step up` left running."""
        record = workdir / "emulator.json"
        if not record.is_file():
            raise EmulatorError(
                f"no emulator is recorded in {record}; a separate refresh or destroy "
                "needs the emulator a previous `--step up` started with the same "
                "--workdir. Run `python -m rehearsal --step all` or `--step up` first"
            )

        details = json.loads(record.read_text())
        link = EmulatorLink(details["url"], details.get("region", "us-east-1"))
        if not link.is_up():
            raise EmulatorError(
                f"the emulator recorded in {record} (pid {details['pid']}, "
                f"{details['url']}) is not running, so what `--step up` created is "
                f"gone. Delete {workdir} and run `python -m rehearsal --step all`"
            )
        return cls(record, int(details["pid"]), link, details["profile"])

    def stop(self) -> None:
        """Stop the background emulator and forget it."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        self.record.unlink(missing_ok=True)


def _wait_until_up(link: EmulatorLink, process: subprocess.Popen[bytes]) -> None:
    # Real time on purpose: this waits for a process to boot, not for AWS.
    deadline = time.monotonic() + _START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmulatorError(
                f"the emulator process exited with code {process.returncode} while "
                "starting; see emulator.log in the work directory"
            )
        if link.is_up():
            return
        time.sleep(0.1)
    process.terminate()
    raise EmulatorError(
        f"the emulator did not answer at {link.url} within "
        f"{_START_DEADLINE_SECONDS:.0f}s; see emulator.log in the work directory"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
