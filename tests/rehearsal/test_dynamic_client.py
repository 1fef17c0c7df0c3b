"""The gRPC client drives a real `python -m pulumi.dynamic` server, call by call."""

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret, wrap_rpc_secret

from rehearsal.engine.dynamic_client import DynamicProviderServer, provider_module
from rehearsal.engine.errors import DynamicProviderError
from tests.rehearsal.sample_providers import NoteProvider

PROJECT_DIR = Path(__file__).resolve().parents[2]
URN = "urn:pulumi:test::fips-keystore::pulumi-python:dynamic:Resource::note"


class LogLines:
    """Collects provider stderr lines; lets a test wait for one to arrive."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._arrived = threading.Condition()

    def append(self, line: str) -> None:
        with self._arrived:
            self.lines.append(line)
            self._arrived.notify_all()

    def wait_for(self, text: str, timeout: float = 10.0) -> bool:
        with self._arrived:
            return self._arrived.wait_for(
                lambda: any(text in line for line in self.lines), timeout
            )


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[DynamicProviderServer, LogLines]]:
    lines = LogLines()
    server = DynamicProviderServer({}, PROJECT_DIR, lines.append)
    server.start()
    server.configure({"fips-keystore:hsmCount": "2"})
    yield server, lines
    server.stop()


def note_inputs(directory: Path, title: str, text: str) -> dict[str, object]:
    provider = wrap_rpc_secret(serialize_provider(NoteProvider()))
    return {
        "__provider": provider,
        "directory": str(directory),
        "title": title,
        "text": wrap_rpc_secret(text),
    }


def test_create_with_secret_input_keeps_marking(server, tmp_path: Path) -> None:
    client, _ = server
    inputs = client.check(URN, {}, note_inputs(tmp_path, "a", "hello"))

    id_, outputs = client.create(URN, inputs, secret_outputs=["token"])

    assert id_ == "note-a"
    assert (tmp_path / "a").read_text() == "hello"
    assert is_rpc_secret(outputs["text"]) and is_rpc_secret(outputs["token"])
    assert unwrap_rpc_secret(outputs["token"]) == "token-of-a"
    assert outputs["length"] == 5
    assert not is_rpc_secret(outputs["title"])


def test_read_after_outside_change_returns_cloud_value(server, tmp_path: Path) -> None:
    client, _ = server
    inputs = client.check(URN, {}, note_inputs(tmp_path, "b", "one"))
    id_, outputs = client.create(URN, inputs)
    (tmp_path / "b").write_text("changed outside")

    read = client.read(URN, id_, outputs, inputs)

    assert read.id == "note-b"
    assert unwrap_rpc_secret(read.outputs["text"]) == "changed outside"
    assert is_rpc_secret(read.outputs["text"])


def test_diff_and_update_when_text_changes(server, tmp_path: Path) -> None:
    client, _ = server
    inputs = client.check(URN, {}, note_inputs(tmp_path, "c", "one"))
    id_, outputs = client.create(URN, inputs, secret_outputs=["token"])
    news = client.check(URN, inputs, note_inputs(tmp_path, "c", "three"))

    diff = client.diff(URN, id_, outputs, news, inputs)
    updated = client.update(URN, id_, outputs, news, inputs, secret_outputs=["token"])

    assert diff.changes is True and diff.replaces == ()
    assert updated["length"] == 5 and is_rpc_secret(updated["token"])
    assert (tmp_path / "c").read_text() == "three"


def test_diff_when_title_changes_asks_replacement(server, tmp_path: Path) -> None:
    client, _ = server
    inputs = client.check(URN, {}, note_inputs(tmp_path, "d", "one"))
    id_, outputs = client.create(URN, inputs)

    diff = client.diff(URN, id_, outputs, note_inputs(tmp_path, "e", "one"), inputs)

    assert diff.changes is True and diff.replaces == ("title",)


def test_diff_when_nothing_changes_reports_none(server, tmp_path: Path) -> None:
    client, _ = server
    inputs = client.check(URN, {}, note_inputs(tmp_path, "f", "same"))
    id_, outputs = client.create(URN, inputs)

    diff = client.diff(URN, id_, outputs, inputs, inputs)

    assert diff.changes is False


def test_delete_removes_note_using_outputs_only(server, tmp_path: Path) -> None:
    client, _ = server
    inputs = client.check(URN, {}, note_inputs(tmp_path, "g", "bye"))
    id_, outputs = client.create(URN, inputs)

    client.delete(URN, id_, outputs, {})

    assert not (tmp_path / "g").exists()


def test_check_with_empty_title_fails_naming_property(server, tmp_path: Path) -> None:
    client, _ = server

    with pytest.raises(DynamicProviderError) as raised:
        client.check(URN, {}, note_inputs(tmp_path, "", "x"))

    assert "title: title must not be empty" in str(raised.value)


def test_create_when_provider_raises_reports_exception(server, tmp_path: Path) -> None:
    client, _ = server
    inputs = note_inputs(tmp_path / "missing-directory", "h", "x")

    with pytest.raises(DynamicProviderError) as raised:
        client.create(URN, inputs)

    assert "Create failed in the dynamic provider: FileNotFoundError" in str(
        raised.value
    )


def test_provider_log_lines_reach_callback(server, tmp_path: Path) -> None:
    client, lines = server
    client.create(URN, client.check(URN, {}, note_inputs(tmp_path, "i", "x")))

    assert lines.wait_for("info: note i: written")


def test_provider_module_of_pickled_provider_names_class_module() -> None:
    serialized = wrap_rpc_secret(serialize_provider(NoteProvider()))

    assert provider_module(serialized) == "tests.rehearsal.sample_providers"
