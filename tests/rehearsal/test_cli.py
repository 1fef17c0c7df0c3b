"""`python -m rehearsal` arguments and the errors a user meets before anything runs."""

import json
from pathlib import Path

import pytest

from rehearsal.engine.cli import main, parse_arguments


def test_parse_arguments_defaults_to_all_on_fast_profile() -> None:
    arguments = parse_arguments([])

    assert (arguments.step, arguments.profile, arguments.faults) == ("all", "fast", "")
    assert arguments.stack is None and arguments.config_file is None


def test_parse_arguments_with_stack_and_config_file_refuses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as raised:
        parse_arguments(["--stack", "dev", "--config-file", "x.yaml"])

    assert raised.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_main_with_secure_config_exits_2_with_advice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "Pulumi.prod.yaml"
    config.write_text("config:\n  fips-keystore:adminPassword:\n    secure: v1:xyz\n")

    exit_code = main(["--config-file", str(config), "--workdir", str(tmp_path)])

    error = capsys.readouterr().err
    assert exit_code == 2
    assert "rehearsal: config key fips-keystore:adminPassword" in error
    assert "pass it with --config-file PATH" in error
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["stack"] == "prod" and report["error"].startswith("config key")


def test_main_with_missing_stack_exits_2_naming_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code = main(["--stack", "nowhere", "--workdir", str(tmp_path)])

    assert exit_code == 2
    assert "Pulumi.nowhere.yaml does not exist" in capsys.readouterr().err


def test_main_refresh_without_prior_up_reports_how_to_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code = main(["--step", "refresh", "--workdir", str(tmp_path)])

    assert exit_code == 1
    assert "no emulator is recorded" in capsys.readouterr().out
    assert "--step all" in (tmp_path / "report.json").read_text()
