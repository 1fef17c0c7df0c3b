"""A gRPC client for Pulumi's dynamic provider server, driven the way the engine does.

`python -m pulumi.dynamic` runs as a subprocess with the emulator's environment; its
stderr (where the providers' `pulumi.log` lines go) is streamed line by line to a
callback. Like the engine, the client strips secret markings before a call (the
server does not accept secrets) and puts them back on the answer: every output
whose input was secret, and every output the resource lists in
`additional_secret_outputs`, comes back marked secret.
"""

import asyncio
import base64
import contextlib
import os
import pickletools
import re
import select
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from rehearsal.engine.errors import DynamicProviderError

PROVIDER_KEY = "__provider"
# The server answers with a thread pool of this size (pulumi/dynamic/__main__.py);
# more calls at once would queue inside the server, unseen by the simulated clock.
SERVER_WORKERS = 4
_START_DEADLINE_SECONDS = 30.0
_MODULE_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")
_SDK_MODULES = ("dill", "builtins", "copyreg", "pulumi", "_codecs", "collections")


@dataclass(frozen=True)
class DiffOutcome:
    """What the provider's diff says: changes (None: unknown), replacement keys."""

    changes: bool | None
    replaces: tuple[str, ...]
    delete_before_replace: bool


@dataclass(frozen=True)
class ReadOutcome:
    """A provider's read: the id, the outputs and, when it gives them, the inputs."""

    id: str
    outputs: dict[str, Any]
    inputs: dict[str, Any] | None


class DynamicProviderServer:
    """One `python -m pulumi.dynamic` subprocess and the gRPC stub that talks to it."""

    def __init__(
        self,
        env: Mapping[str, str],
        project_dir: Path,
        on_log_line: Callable[[str], None],
        project: str = "fips-keystore",
    ) -> None:
        self._env = {**os.environ, **env, "PULUMI_PROJECT": project}
        self._env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(project_dir), self._env.get("PYTHONPATH", "")])
        )
        self._project_dir = project_dir
        self._on_log_line = on_log_line
        self._slots = threading.BoundedSemaphore(SERVER_WORKERS)
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: grpc.Channel | None = None
        self._stub: provider_pb2_grpc.ResourceProviderStub | None = None

    def start(self) -> None:
        """Start the server, connect to the port it prints, stream its stderr."""
        self._process = subprocess.Popen(
            [sys.executable, "-m", "pulumi.dynamic"],
            cwd=self._project_dir,
            env=self._env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        port = self._read_port()

        threading.Thread(target=self._stream_stderr, daemon=True).start()
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)

    def stop(self) -> None:
        """Close the channel and end the server process."""
        if self._channel is not None:
            self._channel.close()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the server's worker threads for the duration of a call."""
        with self._slots:
            yield

    def configure(self, config: Mapping[str, str]) -> None:
        """Send the stack config, as the engine does before the first call."""
        request = provider_pb2.ConfigureRequest(
            args=_to_struct(dict(config)), acceptSecrets=False, acceptResources=False
        )
        self._rpc("Configure", request, "configure")

    def check(
        self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Validate inputs; raise with every failure the provider reports."""
        secret_keys = _secret_keys(news)
        request = provider_pb2.CheckRequest(
            urn=urn, olds=_struct(olds), news=_struct(news)
        )
        reply = self._rpc("Check", request, urn)

        if reply.failures:
            reasons = "; ".join(f"{f.property}: {f.reason}" for f in reply.failures)
            raise DynamicProviderError(
                f"{urn}: the provider rejected its inputs ({reasons}); fix the stack "
                "config or program and run again"
            )
        return _mark(_from_struct(reply.inputs), secret_keys)

    def create(
        self, urn: str, inputs: Mapping[str, Any], secret_outputs: Iterable[str] = ()
    ) -> tuple[str, dict[str, Any]]:
        """Create the resource; return its id and outputs, secrets marked."""
        request = provider_pb2.CreateRequest(urn=urn, properties=_struct(inputs))
        reply = self._rpc("Create", request, urn)

        secret_keys = _secret_keys(inputs) | set(secret_outputs)
        return reply.id, _mark(_from_struct(reply.properties), secret_keys)

    def read(
        self,
        urn: str,
        id_: str,
        outputs: Mapping[str, Any],
        inputs: Mapping[str, Any],
        secret_outputs: Iterable[str] = (),
    ) -> ReadOutcome:
        """Read the resource back from the cloud (refresh)."""
        request = provider_pb2.ReadRequest(
            id=id_,
            urn=urn,
            properties=_struct(outputs),
            inputs=_struct(inputs),
        )
        reply = self._rpc("Read", request, urn)

        secret_keys = _secret_keys(outputs) | _secret_keys(inputs) | set(secret_outputs)
        new_inputs = _from_struct(reply.inputs) if reply.HasField("inputs") else None
        return ReadOutcome(
            reply.id,
            _mark(_from_struct(reply.properties), secret_keys),
            None if new_inputs is None else _mark(new_inputs, _secret_keys(inputs)),
        )

    def diff(
        self,
        urn: str,
        id_: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        old_inputs: Mapping[str, Any],
    ) -> DiffOutcome:
        """Ask the provider what changes between the stored outputs and new inputs."""
        request = provider_pb2.DiffRequest(
            **_change_fields(urn, id_, olds, news, old_inputs)
        )
        reply = self._rpc("Diff", request, urn)

        changes = {
            provider_pb2.DiffResponse.DIFF_NONE: False,
            provider_pb2.DiffResponse.DIFF_SOME: True,
        }.get(reply.changes)
        return DiffOutcome(changes, tuple(reply.replaces), reply.deleteBeforeReplace)

    def update(
        self,
        urn: str,
        id_: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        old_inputs: Mapping[str, Any],
        secret_outputs: Iterable[str] = (),
    ) -> dict[str, Any]:
        """Update the resource in place; return its new outputs, secrets marked."""
        request = provider_pb2.UpdateRequest(
            **_change_fields(urn, id_, olds, news, old_inputs)
        )
        reply = self._rpc("Update", request, urn)

        secret_keys = _secret_keys(news) | set(secret_outputs)
        return _mark(_from_struct(reply.properties), secret_keys)

    def delete(
        self,
        urn: str,
        id_: str,
        outputs: Mapping[str, Any],
        old_inputs: Mapping[str, Any],
    ) -> None:
        """Delete the resource; the provider gets only what it stored as outputs."""
        request = provider_pb2.DeleteRequest(
            id=id_,
            urn=urn,
            properties=_struct(outputs),
            old_inputs=_struct(old_inputs),
        )
        self._rpc("Delete", request, urn)

    def _rpc(self, method: str, request: Any, subject: str) -> Any:
        if self._stub is None:
            raise DynamicProviderError(
                f"{method} for {subject} before the dynamic provider server started; "
                "call start() first"
            )
        try:
            return getattr(self._stub, method)(request)
        except grpc.RpcError as error:
            raise DynamicProviderError(
                f"{subject}: {method} failed in the dynamic provider: "
                f"{_exception_text(error.details() or str(error))}"
            ) from None

    def _read_port(self) -> int:
        assert self._process is not None and self._process.stdout is not None
        # Real time on purpose: this waits for a process to boot, not for AWS.
        ready, _, _ = select.select(
            [self._process.stdout], [], [], _START_DEADLINE_SECONDS
        )
        line = self._process.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            self._process.kill()
            error = self._process.stderr.read().decode() if self._process.stderr else ""
            raise DynamicProviderError(
                "python -m pulumi.dynamic did not print its port within "
                f"{_START_DEADLINE_SECONDS:.0f}s (printed {line!r}); its stderr: "
                f"{error[-2000:] or '(empty)'}. Check that the virtualenv has pulumi"
            )
        return int(line)

    def _stream_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        for raw in self._process.stderr:
            self._on_log_line(raw.decode(errors="replace").rstrip("\n"))


def provider_module(serialized_provider: Any) -> str:
    """The module of the provider class inside a pickled `__provider` value.

    Read from the pickle's opcodes without loading it, so nothing in it runs.
    """
    text = rpc.unwrap_rpc_secret(serialized_provider)
    if not isinstance(text, str):
        return ""
    try:
        data = base64.b64decode(text)
        strings = [
            arg for _, arg, _ in pickletools.genops(data) if isinstance(arg, str)
        ]
    except (ValueError, TypeError):
        return ""

    for value in strings:
        module = value.split(" ")[0]
        if _MODULE_PATH.fullmatch(module) and not module.startswith(_SDK_MODULES):
            return module
    return ""


def _change_fields(
    urn: str,
    id_: str,
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    old_inputs: Mapping[str, Any],
) -> dict[str, Any]:
    """The fields a Diff and an Update request share."""
    return {
        "id": id_,
        "urn": urn,
        "olds": _struct(olds),
        "news": _struct(news),
        "old_inputs": _struct(old_inputs),
    }


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Properties as the server takes them: secret markings stripped."""
    return _to_struct(_plain(props))


def _secret_keys(props: Mapping[str, Any]) -> set[str]:
    return {key for key, value in props.items() if rpc.is_rpc_secret(value)}


def _plain(props: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _unwrap_deep(value) for key, value in props.items()}


def _unwrap_deep(value: Any) -> Any:
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, dict):
        return {key: _unwrap_deep(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap_deep(item) for item in value]
    return value


def _mark(props: dict[str, Any], secret_keys: set[str]) -> dict[str, Any]:
    return {
        key: rpc.wrap_rpc_secret(value) if key in secret_keys else value
        for key, value in props.items()
    }


def _to_struct(props: dict[str, Any]) -> struct_pb2.Struct:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()


def _from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct))


def _exception_text(details: str) -> str:
    # The server aborts with a whole traceback; the user needs its last exception.
    lines = details.rstrip().splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith("  File ")]
    if not frames:
        return details.strip()
    start = frames[-1] + 1
    while start < len(lines) and lines[start].startswith("    "):
        start += 1
    return "\n".join(lines[start:]).strip()
