"""Rehearsals on one shared emulator, keeping everything each run produced.

Every run is its own stack in the session's emulator (`shared_emulator` in
tests/rehearsal/conftest.py), so moto's start-up is paid once; the emulator
stays up after a run, so its SSM history and call log can be read.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from rehearsal.emulator import Emulator
from rehearsal.engine.cli import PROJECT_DIR
from rehearsal.engine.config import load_config_file
from rehearsal.engine.emulator_link import MANAGED_POLICIES_VARIABLE, EmulatorLink
from rehearsal.engine.runner import Rehearsal, RehearsalOptions

ADMIN_PASSWORD = "Adm1nKnownSecret7"
KMSUSER_PASSWORD = "KmsUs3rKnownSecret9"


@dataclass
class SuppliedCa:
    """A CA the test supplies as caCertificate and caPrivateKey."""

    certificate_pem: str
    private_key_pem: str

    @property
    def key_fragments(self) -> list[str]:
        """The key's base64 lines, and a distinctive run of characters inside."""
        lines = [
            line
            for line in self.private_key_pem.splitlines()
            if line and not line.startswith("-----")
        ]
        return [*lines, lines[len(lines) // 2][10:50]]


@dataclass
class CapturedRun:
    """What one rehearsal run left: exit code, printed log, report, SSM, files."""

    exit_code: int
    printed: str
    report: dict[str, Any]
    workdir: Path
    calls: list[dict[str, Any]] = field(default_factory=list)
    ssm_history: list[str] = field(default_factory=list)
    # The emulator's own directory: instance sandboxes and their argv.log.
    emulator_dir: Path | None = None

    def produced_texts(self) -> dict[str, str]:
        """Every text the run produced, by where it came from."""
        texts = {
            "printed log": self.printed,
            "report": json.dumps(self.report),
            "ssm history": "\n".join(self.ssm_history),
        }
        directories = [self.workdir, self.emulator_dir or self.workdir]
        for path in sorted({p for d in directories for p in d.rglob("*")}):
            if path.is_file() and path.name != "secret.key":
                texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
        return texts


@dataclass
class SharedEmulator:
    """An emulator several rehearsals use (RehearsalOptions.emulator)."""

    emulator: Emulator
    link: EmulatorLink
    profile: str = "fast"

    def stop(self) -> None:
        self.emulator.stop()


def start_shared_emulator(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SharedEmulator]:
    """One fast emulator for many rehearsals; the runner leaves it running."""
    saved = os.environ.get(MANAGED_POLICIES_VARIABLE)
    os.environ[MANAGED_POLICIES_VARIABLE] = "true"
    emulator = Emulator("fast", tmp_path_factory.mktemp("shared-emulator"))
    emulator.start()
    try:
        yield SharedEmulator(emulator, EmulatorLink(emulator.url, emulator.region))
    finally:
        emulator.stop()
        if saved is None:
            os.environ.pop(MANAGED_POLICIES_VARIABLE, None)
        else:
            os.environ[MANAGED_POLICIES_VARIABLE] = saved


def make_ca(common_name: str = "rel2 scan CA") -> SuppliedCa:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_epoch())
        .not_valid_after(_epoch().replace(year=2036))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    return SuppliedCa(
        certificate.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    )


def write_config(path: Path, ca: SuppliedCa | None, **extra: Any) -> Path:
    values: dict[str, Any] = {
        "aws:region": "us-east-1",
        "fips-keystore:hsmCount": 2,
        "fips-keystore:protectKeys": False,
        "fips-keystore:keyDeletionWindowDays": 7,
        "fips-keystore:adminPassword": ADMIN_PASSWORD,
        "fips-keystore:kmsuserPassword": KMSUSER_PASSWORD,
    }
    if ca is not None:
        values["fips-keystore:caCertificate"] = ca.certificate_pem
        values["fips-keystore:caPrivateKey"] = ca.private_key_pem
    values.update({f"fips-keystore:{key}": value for key, value in extra.items()})
    path.write_text(yaml.safe_dump({"config": values}))
    return path


def rehearse(
    shared: SharedEmulator,
    config: Path,
    workdir: Path,
    faults: str = "",
    step: str = "all",
) -> CapturedRun:
    """Rehearse `config` (`--step all` or `step`) as its own stack; keep its output."""
    before = len(shared.emulator.calls.all())
    shared.link.set_faults({})
    options = RehearsalOptions(
        project_dir=PROJECT_DIR,
        config=load_config_file(config, PROJECT_DIR),
        workdir=workdir,
        report_path=workdir / "report.json",
        faults=faults,
        emulator=shared,
        step=step,
    )

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        report = Rehearsal(options).run()
        print(report.summary())
    calls = [asdict(call) for call in shared.emulator.calls.all()[before:]]
    return CapturedRun(
        exit_code=1 if report.failed else 0,
        printed=printed.getvalue(),
        report=json.loads(options.report_path.read_text()),
        workdir=workdir,
        calls=calls,
        ssm_history=_ssm_history(shared.link.env()),
        emulator_dir=shared.emulator.workdir,
    )


def occurrences(texts: dict[str, str], secrets: list[str]) -> list[str]:
    """`where: secret[:12]` for every secret found in any text."""
    return [
        f"{where}: {secret[:12]}..."
        for where, text in texts.items()
        for secret in secrets
        if secret and secret in text
    ]


def _ssm_history(env: dict[str, str]) -> list[str]:
    ssm = boto3.client(
        "ssm",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    commands = ssm.list_commands()["Commands"]
    invocations = ssm.list_command_invocations(Details=True)["CommandInvocations"]
    return [json.dumps(item, default=str) for item in commands + invocations]


def _epoch() -> datetime:
    return datetime(2025, 1, 1, tzinfo=UTC)
