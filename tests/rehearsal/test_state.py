"""The work directory's state: records round-trip, secrets never in plain text."""

import stat
from pathlib import Path

import pytest
from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret, wrap_rpc_secret

from rehearsal.engine.errors import StateError
from rehearsal.engine.state import ResourceRecord, Workdir

URN = (
    "urn:pulumi:dev::fips-keystore::aws:secretsmanager/secretVersion:SecretVersion::pw"
)


def saved(workdir: Workdir) -> ResourceRecord:
    record = ResourceRecord(
        urn=URN,
        type="aws:secretsmanager/secretVersion:SecretVersion",
        name="pw",
        id="arn|v1",
        dependencies=["urn:a"],
        inputs={"secretString": wrap_rpc_secret("Sup3rS3cretValue")},
        outputs={"nested": {"password": wrap_rpc_secret("An0therS3cret")}, "n": 2},
        protect=True,
    )
    workdir.save(record)
    return record


def test_save_keeps_secrets_out_of_the_file(tmp_path: Path) -> None:
    workdir = Workdir(tmp_path)

    saved(workdir)

    text = "".join(path.read_text() for path in workdir.state_dir.glob("*.json"))
    assert "Sup3rS3cretValue" not in text and "An0therS3cret" not in text
    assert "__encrypted" in text


def test_load_all_restores_values_and_secret_marking(tmp_path: Path) -> None:
    workdir = Workdir(tmp_path)
    original = saved(workdir)

    loaded = Workdir(tmp_path).load_all()[URN]

    assert loaded == original
    assert is_rpc_secret(loaded.inputs["secretString"])
    assert unwrap_rpc_secret(loaded.outputs["nested"]["password"]) == "An0therS3cret"


def test_secret_key_file_is_private(tmp_path: Path) -> None:
    Workdir(tmp_path)

    mode = stat.S_IMODE((tmp_path / "secret.key").stat().st_mode)

    assert mode == 0o600


def test_load_all_with_replaced_key_fails_with_next_step(tmp_path: Path) -> None:
    saved(Workdir(tmp_path))
    (tmp_path / "secret.key").unlink()

    with pytest.raises(StateError) as raised:
        Workdir(tmp_path).load_all()

    assert "cannot decrypt" in str(raised.value)
    assert "new --workdir" in str(raised.value)


def test_remove_drops_the_record(tmp_path: Path) -> None:
    workdir = Workdir(tmp_path)
    saved(workdir)

    workdir.remove(URN)

    assert workdir.load_all() == {}
