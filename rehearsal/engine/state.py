"""The rehearsal's work directory: one JSON file per resource, secrets encrypted.

Secret values (marked secret by the SDK or by a provider) are stored encrypted with a
Fernet key kept beside the state in `secret.key` (mode 0600): anyone who can read the
work directory can read the key too, so the directory is as sensitive as a Pulumi
state file with its passphrase. Dynamic providers get their secret outputs back from
here on read, update and delete. Like Pulumi's pending operations, a create is
written to `pending/` before the provider is called and removed once its result is
in `state/`: a run that dies in between leaves it there for refresh to resolve.
"""

import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret, wrap_rpc_secret

from rehearsal.engine.errors import StateError

_ENCRYPTED = "__encrypted"


@dataclass
class ResourceRecord:
    """What the rehearsal knows about one resource, as Pulumi's state would."""

    urn: str
    type: str
    name: str
    parent: str = ""
    custom: bool = True
    id: str = ""
    dependencies: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    additional_secret_outputs: list[str] = field(default_factory=list)
    # Read with `get()`: the stack uses it but does not own it, so destroy
    # only drops it from the state (Pulumi's "external" resources).
    external: bool = False
    # customTimeouts.create in seconds: how long pulumi-aws waits on a create.
    create_timeout_seconds: float | None = None
    provider_module: str = ""
    operation: str = ""
    start: float = 0.0
    end: float = 0.0

    @property
    def is_dynamic(self) -> bool:
        """True for resources served by a Python dynamic provider.

        Their type is `pulumi-python:dynamic:Resource`, or `...:dynamic:<Name>` when
        the class names itself (`class X(Resource, name="X")`).
        """
        return self.type.startswith("pulumi-python:dynamic")


class Workdir:
    """Reads and writes the state of one rehearsed stack; safe to use from threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state_dir = path / "state"
        self._lock = threading.Lock()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._fernet = Fernet(self._load_or_create_key())

    @property
    def report_path(self) -> Path:
        """Default place of the rehearsal report."""
        return self.path / "report.json"

    @property
    def pending_dir(self) -> Path:
        """Where creates that started but were never recorded are kept."""
        return self.path / "pending"

    @property
    def emulator_path(self) -> Path:
        """Where a background emulator's pid and address are recorded."""
        return self.path / "emulator.json"

    def save(self, record: ResourceRecord) -> None:
        """Write one resource's record, secrets encrypted, atomically."""
        self._write(self._file_of(record.urn), record)

    def remove(self, urn: str) -> None:
        """Drop a resource from the state (deleted, or retained outside the stack)."""
        with self._lock:
            self._file_of(urn).unlink(missing_ok=True)

    def load_all(self) -> dict[str, ResourceRecord]:
        """Every resource in the state, by URN, secrets decrypted and marked secret."""
        return self._load(self.state_dir)

    def begin_create(self, record: ResourceRecord) -> None:
        """Record a pending create (with its inputs) before the provider is called."""
        self.pending_dir.mkdir(exist_ok=True)
        self._write(self._file_of(record.urn, self.pending_dir), record)

    def end_pending(self, urn: str) -> None:
        """Forget a pending operation: recorded, failed cleanly, or resolved."""
        with self._lock:
            self._file_of(urn, self.pending_dir).unlink(missing_ok=True)

    def load_pending(self) -> dict[str, ResourceRecord]:
        """Creates a run started and never recorded, by URN, with their inputs."""
        if not self.pending_dir.is_dir():
            return {}
        return self._load(self.pending_dir)

    def _write(self, target: Path, record: ResourceRecord) -> None:
        document = asdict(record)
        document["inputs"] = self._seal(record.inputs)
        document["outputs"] = self._seal(record.outputs)

        temporary = target.with_suffix(".tmp")
        with self._lock:
            temporary.write_text(json.dumps(document, indent=2, sort_keys=True))
            temporary.replace(target)

    def _load(self, directory: Path) -> dict[str, ResourceRecord]:
        records = {}
        for path in sorted(directory.glob("*.json")):
            document = json.loads(path.read_text())
            document["inputs"] = self._open(document["inputs"], path)
            document["outputs"] = self._open(document["outputs"], path)
            record = ResourceRecord(**document)
            records[record.urn] = record
        return records

    def _file_of(self, urn: str, directory: Path | None = None) -> Path:
        digest = hashlib.sha256(urn.encode()).hexdigest()[:16]
        name = "".join(
            c if c.isalnum() or c in "-_" else "_" for c in urn.split("::")[-1]
        )
        return (directory or self.state_dir) / f"{name[:60]}-{digest}.json"

    def _load_or_create_key(self) -> bytes:
        key_file = self.path / "secret.key"
        if key_file.exists():
            return key_file.read_bytes()

        key = Fernet.generate_key()
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
        return key

    def _seal(self, value: Any) -> Any:
        if is_rpc_secret(value):
            plain = json.dumps(unwrap_rpc_secret(value)).encode()
            return {_ENCRYPTED: self._fernet.encrypt(plain).decode()}
        if isinstance(value, dict):
            return {key: self._seal(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._seal(item) for item in value]
        return value

    def _open(self, value: Any, path: Path) -> Any:
        if isinstance(value, dict) and set(value) == {_ENCRYPTED}:
            try:
                plain = self._fernet.decrypt(value[_ENCRYPTED].encode())
            except InvalidToken as error:
                raise StateError(
                    f"state file {path} holds a secret that {self.path}/secret.key "
                    "cannot decrypt; the key was replaced. Restore the key or start "
                    "over with a new --workdir"
                ) from error
            return wrap_rpc_secret(json.loads(plain))
        if isinstance(value, dict):
            return {key: self._open(item, path) for key, item in value.items()}
        if isinstance(value, list):
            return [self._open(item, path) for item in value]
        return value
