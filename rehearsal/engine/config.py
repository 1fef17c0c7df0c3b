"""Stack configuration for a rehearsal: read `Pulumi.<stack>.yaml`, hand it to the SDK.

Secure values (`{secure: v1:...}`) can only be decrypted by the Pulumi CLI, so they are
refused: a rehearsal takes them as plain values from a separate `--config-file`.
"""

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml
from pulumi.runtime.config import set_all_config

from rehearsal.engine.errors import ConfigFileError

PROJECT = "fips-keystore"

# Keys whose names say they hold a secret are marked secret even when Pulumi.yaml does
# not declare them so: a rehearsal must never print them.
_SECRET_NAME = re.compile(r"password|privatekey|secret$", re.IGNORECASE)


@dataclass(frozen=True)
class RehearsalConfig:
    """Stack config as the Pulumi CLI would pass it: string values, full keys."""

    stack: str
    source: Path
    values: dict[str, str]
    secret_keys: frozenset[str]

    def get(self, key: str) -> str | None:
        """The value of a project key (`hsmCount`) or a full key (`aws:region`)."""
        return self.values.get(key if ":" in key else f"{PROJECT}:{key}")


def load_stack_config(project_dir: Path, stack: str) -> RehearsalConfig:
    """Read `Pulumi.<stack>.yaml` of the project, with the project's config defaults."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise ConfigFileError(
            f"stack config file {path} does not exist; pass --stack with a stack "
            f"that has a Pulumi.<stack>.yaml in {project_dir}, or --config-file PATH"
        )
    return _load(path, project_dir, stack)


def load_config_file(path: Path, project_dir: Path) -> RehearsalConfig:
    """Read a config file shaped like `Pulumi.<stack>.yaml` (a `config:` section)."""
    if not path.is_file():
        raise ConfigFileError(
            f"config file {path} does not exist; pass --config-file with the path "
            "of a YAML file that has a config: section"
        )
    return _load(path, project_dir, stack_name_of(path))


def apply_config(config: RehearsalConfig) -> None:
    """Give the config to the Pulumi SDK, secret keys marked, as the CLI would."""
    set_all_config(dict(config.values), sorted(config.secret_keys))


def _load(path: Path, project_dir: Path, stack: str) -> RehearsalConfig:
    declared = _project_declarations(project_dir)
    raw = _read_config_section(path)

    defaults = {key: _default_value(decl) for key, decl in declared.items()}
    values = {key: value for key, value in defaults.items() if value is not None}
    for key, value in raw.items():
        full_key = _full_key(key)
        _refuse_secure(full_key, value, path)
        values[full_key] = _as_config_string(value)

    _check_region(values.get("aws:region"), path)
    secret_keys = {key for key, decl in declared.items() if _declared_secret(decl)}
    secret_keys |= {key for key in values if _SECRET_NAME.search(key.split(":")[-1])}
    return RehearsalConfig(stack, path, values, frozenset(secret_keys))


def _check_region(region: str | None, path: Path) -> None:
    """pulumi-aws refuses a Region it does not know; so does the rehearsal, first."""
    if region is None or region in _cloudhsm_regions():
        return
    raise ConfigFileError(
        f"aws:region {region!r} in {path} is not a Region where AWS offers "
        f"CloudHSM; botocore knows it in {', '.join(sorted(_cloudhsm_regions()))}. "
        "Set aws:region to one of them"
    )


@functools.cache
def _cloudhsm_regions() -> frozenset[str]:
    session = boto3.session.Session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("cloudhsmv2", partition)
    )


def _read_config_section(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigFileError(
            f"config file {path} is not valid YAML ({error}); fix the file or pass "
            "another one with --config-file"
        ) from error

    # An empty file is a stack with every default; other keys without config:
    # mean the file is not shaped like Pulumi.<stack>.yaml.
    if not isinstance(document, dict):
        document = {"": document}
    section = document.get("config", {} if not document else None)
    if not isinstance(section, dict):
        raise ConfigFileError(
            f"config file {path} has no config: mapping; write the values as "
            "'config: {fips-keystore:key: value}' like Pulumi.<stack>.yaml"
        )
    return section


def _project_declarations(project_dir: Path) -> dict[str, Any]:
    project_file = project_dir / "Pulumi.yaml"
    if not project_file.is_file():
        return {}
    document = yaml.safe_load(project_file.read_text()) or {}
    section = document.get("config") or {}
    return {_full_key(key): decl for key, decl in section.items()}


def _default_value(declaration: Any) -> str | None:
    if isinstance(declaration, dict):
        if "default" not in declaration and "value" not in declaration:
            return None
        return _as_config_string(declaration.get("default", declaration.get("value")))
    return _as_config_string(declaration)


def _declared_secret(declaration: Any) -> bool:
    return isinstance(declaration, dict) and bool(declaration.get("secret"))


def _full_key(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def _refuse_secure(key: str, value: Any, path: Path) -> None:
    if isinstance(value, dict):
        if "secure" in value:
            raise ConfigFileError(
                f"config key {key} in {path} is a secure value that only the Pulumi "
                "CLI can decrypt; for a rehearsal put the key with a plain value in "
                "another file and pass it with --config-file PATH"
            )
        for item in value.values():
            _refuse_secure(key, item, path)
    elif isinstance(value, list):
        for item in value:
            _refuse_secure(key, item, path)


def _as_config_string(value: Any) -> str:
    # The CLI hands every config value to the program as a string; objects and lists
    # travel as JSON, booleans as true/false.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def stack_name_of(path: Path) -> str:
    """The stack a config file is for: `Pulumi.<stack>.yaml`, else the file's stem."""
    match = re.fullmatch(r"Pulumi\.(.+)\.ya?ml", path.name)
    return match.group(1) if match else path.stem
