"""GeneratedPassword, and the HSM password rule the stack config applies."""

from __future__ import annotations

import dill
import pytest
from pulumi.runtime.rpc import UNKNOWN

from providers.generated_password import (
    ALPHABET,
    GeneratedPasswordProvider,
    generate_password,
)
from stack_config import ConfigError, load_stack_config
from tests.providers.results import outs_of


def failures(news: dict) -> dict[str, str]:
    result = GeneratedPasswordProvider().check({}, news)
    return {failure.property: failure.reason for failure in result.failures}


def test_create_makes_alphanumeric_password_of_the_length() -> None:
    outs = outs_of(GeneratedPasswordProvider().create({"length": 20.0}))

    assert len(outs["value"]) == 20
    assert set(outs["value"]) <= set(ALPHABET)
    assert outs["length"] == 20


def test_create_twice_makes_different_passwords() -> None:
    first = outs_of(GeneratedPasswordProvider().create({"length": 32}))["value"]
    second = outs_of(GeneratedPasswordProvider().create({"length": 32}))["value"]

    assert first != second


def test_check_defaults_length_to_32() -> None:
    result = GeneratedPasswordProvider().check({}, {})

    assert result.failures == []
    assert result.inputs["length"] == 32


@pytest.mark.parametrize("length", [6, 33])
def test_check_rejects_length_outside_7_to_32(length: int) -> None:
    assert failures({"length": length}) == {
        "length": f"length must be from 7 to 32, got {length}."
    }


def test_check_rejects_length_that_is_not_a_number() -> None:
    assert failures({"length": "long"}) == {
        "length": "length must be a whole number, got 'long'."
    }


def test_check_accepts_unknown_length() -> None:
    assert failures({"length": UNKNOWN}) == {}


def test_read_keeps_the_value() -> None:
    outs = outs_of(GeneratedPasswordProvider().create({"length": 12}))

    assert outs_of(GeneratedPasswordProvider().read("p", outs)) == outs


def test_diff_unchanged_length_keeps_the_password() -> None:
    outs = outs_of(GeneratedPasswordProvider().create({"length": 12}))

    diff = GeneratedPasswordProvider().diff("p", outs, {"length": 12.0})

    assert diff.changes is False
    assert diff.replaces == []


def test_diff_changed_length_replaces() -> None:
    outs = outs_of(GeneratedPasswordProvider().create({"length": 12}))

    diff = GeneratedPasswordProvider().diff("p", outs, {"length": 16})

    assert diff.changes is True
    assert diff.replaces == ["length"]


def test_diff_unknown_length_reports_a_possible_replacement() -> None:
    outs = outs_of(GeneratedPasswordProvider().create({"length": 12}))

    diff = GeneratedPasswordProvider().diff("p", outs, {"length": UNKNOWN})

    assert diff.changes is True
    assert diff.replaces == ["length"]
    assert "value" not in (diff.stables or [])


def test_update_keeps_the_value() -> None:
    outs = outs_of(GeneratedPasswordProvider().create({"length": 12}))

    updated = outs_of(GeneratedPasswordProvider().update("p", outs, {"length": 12}))

    assert updated["value"] == outs["value"]


def test_generate_password_draws_from_the_whole_alphabet() -> None:
    drawn = set("".join(generate_password(32) for _ in range(200)))

    assert drawn == set(ALPHABET)


def config_error(values: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        load_stack_config(values, stack="test")
    return raised.value


SHORT_PASSWORD = "Sh0rtP"  # 6 characters
LONG_PASSWORD = "L0ngPassw0rd" * 2 + "L0ngPassw"  # 33 characters


@pytest.mark.parametrize(
    ("key", "charset"),
    [("adminPassword", "printable characters"), ("kmsuserPassword", "letters")],
)
@pytest.mark.parametrize("password", [SHORT_PASSWORD, LONG_PASSWORD])
def test_load_stack_config_rejects_password_of_6_and_33_characters(
    key: str, charset: str, password: str
) -> None:
    error = config_error({key: password})

    message = str(error)
    assert [problem.key for problem in error.problems] == [key]
    assert f"{key} = <secret of {len(password)} characters>" in message
    assert f"allowed is 7 to 32 {charset}" in message
    assert f"pulumi config set --secret {key} <password>" in message
    assert password not in message


def test_load_stack_config_rejects_kmsuser_password_with_symbols_unechoed() -> None:
    error = config_error({"kmsuserPassword": "Secret$Pass!word"})

    assert [problem.key for problem in error.problems] == ["kmsuserPassword"]
    assert "7 to 32 letters and digits" in str(error)
    assert "Secret$Pass!word" not in str(error)


@pytest.mark.parametrize("password", ["a" * 7, "Ab3" * 10 + "xy"])
def test_load_stack_config_accepts_passwords_of_7_to_32_alphanumerics(
    password: str,
) -> None:
    config = load_stack_config(
        {"adminPassword": password, "kmsuserPassword": password}, stack="test"
    )

    assert (config.admin_password, config.kmsuser_password) == (password, password)


def test_provider_survives_dill_round_trip() -> None:
    provider = dill.loads(dill.dumps(GeneratedPasswordProvider(), recurse=True))

    assert len(outs_of(provider.create({"length": 9}))["value"]) == 9
