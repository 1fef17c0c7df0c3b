"""GeneratedPassword and the HSM password rule the program applies."""

from __future__ import annotations

import dill
import pytest
from pulumi.runtime.rpc import UNKNOWN

from providers.crypto_user import password_rule_violation
from providers.generated_password import (
    ALPHABET,
    GeneratedPasswordProvider,
    generate_password,
)
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


def test_update_keeps_the_value() -> None:
    outs = outs_of(GeneratedPasswordProvider().create({"length": 12}))

    updated = outs_of(GeneratedPasswordProvider().update("p", outs, {"length": 12}))

    assert updated["value"] == outs["value"]


def test_generate_password_draws_from_the_whole_alphabet() -> None:
    drawn = set("".join(generate_password(32) for _ in range(200)))

    assert drawn == set(ALPHABET)


@pytest.mark.parametrize("password", ["a" * 6, "a" * 33])
def test_password_rule_rejects_length_6_and_33(password: str) -> None:
    message = password_rule_violation(password, "hsm:kmsuserPassword")

    assert message == (
        f"hsm:kmsuserPassword has {len(password)} characters; HSM passwords must be "
        "7 to 32 letters and digits."
    )


def test_password_rule_rejects_symbols_without_echoing_them() -> None:
    message = password_rule_violation("Secret$Pass!word", "hsm:adminPassword")

    assert message is not None
    assert "some outside [A-Za-z0-9]" in message
    assert "Secret$Pass!word" not in message


@pytest.mark.parametrize("password", ["a" * 7, "Ab3" * 10 + "xy"])
def test_password_rule_accepts_7_to_32_alphanumerics(password: str) -> None:
    assert password_rule_violation(password, "p") is None


def test_provider_survives_dill_round_trip() -> None:
    provider = dill.loads(dill.dumps(GeneratedPasswordProvider(), recurse=True))

    assert len(outs_of(provider.create({"length": 9}))["value"]) == 9
