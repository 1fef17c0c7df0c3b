"""Stack config for a rehearsal: read like the CLI would, secure values refused."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi.runtime.config import (
    _SECRET_KEYS,
    CONFIG,
    get_config,
    is_config_secret,
)

from rehearsal.engine.config import (
    apply_config,
    load_config_file,
    load_stack_config,
)
from rehearsal.engine.errors import ConfigFileError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_load_stack_config_turns_values_into_cli_strings(tmp_path: Path) -> None:
    write(
        tmp_path / "Pulumi.dev.yaml",
        "config:\n"
        "  aws:region: eu-west-1\n"
        "  fips-keystore:hsmCount: 2\n"
        "  fips-keystore:protectKeys: false\n"
        "  fips-keystore:tags:\n"
        "    environment: dev\n",
    )

    config = load_stack_config(tmp_path, "dev")

    assert config.stack == "dev"
    assert config.get("aws:region") == "eu-west-1"
    assert config.get("hsmCount") == "2"
    assert config.get("protectKeys") == "false"
    assert config.get("tags") == '{"environment": "dev"}'


def test_load_stack_config_with_secure_value_refuses_naming_key(tmp_path: Path) -> None:
    write(
        tmp_path / "Pulumi.prod.yaml",
        "config:\n  fips-keystore:adminPassword:\n    secure: v1:abcdef\n",
    )

    with pytest.raises(ConfigFileError) as raised:
        load_stack_config(tmp_path, "prod")

    message = str(raised.value)
    assert "fips-keystore:adminPassword" in message
    assert "secure value that only the Pulumi CLI can decrypt" in message
    assert "--config-file PATH" in message
    assert "v1:abcdef" not in message


def test_load_stack_config_with_nested_secure_value_refuses(tmp_path: Path) -> None:
    write(
        tmp_path / "Pulumi.prod.yaml",
        "config:\n  fips-keystore:ca:\n    key:\n      secure: v1:zz\n",
    )

    with pytest.raises(ConfigFileError) as raised:
        load_stack_config(tmp_path, "prod")

    assert "fips-keystore:ca" in str(raised.value)


def test_load_stack_config_when_file_missing_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as raised:
        load_stack_config(tmp_path, "nope")

    assert f"{tmp_path / 'Pulumi.nope.yaml'} does not exist" in str(raised.value)


def test_load_config_file_without_config_section_fails(tmp_path: Path) -> None:
    path = write(tmp_path / "plain.yaml", "hsmCount: 2\n")

    with pytest.raises(ConfigFileError) as raised:
        load_config_file(path, tmp_path)

    assert "has no config: mapping" in str(raised.value)


def test_load_config_file_with_unknown_region_refuses_naming_it(tmp_path: Path) -> None:
    path = write(tmp_path / "far.yaml", "config:\n  aws:region: us-east-9\n")

    with pytest.raises(ConfigFileError) as raised:
        load_config_file(path, tmp_path)

    message = str(raised.value)
    assert message.startswith(f"aws:region 'us-east-9' in {path} is not a Region")
    assert "us-east-1" in message and message.endswith("Set aws:region to one of them")


def test_load_config_file_accepts_a_region_that_offers_cloudhsm(tmp_path: Path) -> None:
    path = write(tmp_path / "west.yaml", "config:\n  aws:region: us-west-2\n")

    assert load_config_file(path, tmp_path).get("aws:region") == "us-west-2"


def test_load_config_file_marks_password_keys_secret(tmp_path: Path) -> None:
    path = write(
        tmp_path / "Pulumi.rehearsal.yaml",
        "config:\n  fips-keystore:adminPassword: Passw0rdPassw0rd\n"
        "  fips-keystore:hsmCount: 3\n",
    )

    config = load_config_file(path, tmp_path)

    assert config.stack == "rehearsal"
    assert config.secret_keys == {"fips-keystore:adminPassword"}


def test_load_config_file_applies_project_defaults_and_secrets(tmp_path: Path) -> None:
    write(
        tmp_path / "Pulumi.yaml",
        "name: fips-keystore\nconfig:\n"
        "  hsmCount:\n    default: 2\n"
        "  caKey:\n    secret: true\n",
    )
    path = write(tmp_path / "mine.yaml", "config:\n  fips-keystore:caKey: abc\n")

    config = load_config_file(path, tmp_path)

    assert config.stack == "mine"
    assert config.get("hsmCount") == "2"
    assert "fips-keystore:caKey" in config.secret_keys


@pytest.fixture
def sdk_config() -> Iterator[None]:
    config, secret_keys = CONFIG.get(), _SECRET_KEYS.get()
    yield
    CONFIG.set(config)
    _SECRET_KEYS.set(secret_keys)


def test_apply_config_sets_sdk_config_and_secret_keys(
    tmp_path: Path, sdk_config: None
) -> None:
    path = write(
        tmp_path / "Pulumi.t.yaml",
        "config:\n  fips-keystore:kmsuserPassword: abcdefgh1\n"
        "  aws:region: us-east-1\n",
    )

    apply_config(load_config_file(path, tmp_path))

    assert get_config("aws:region") == "us-east-1"
    assert is_config_secret("fips-keystore:kmsuserPassword")
    assert not is_config_secret("aws:region")
