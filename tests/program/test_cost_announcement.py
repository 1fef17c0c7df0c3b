"""The program prints its estimated cost when it is evaluated (preview and up)."""

from __future__ import annotations

import pytest

from stack_config import load_stack_config
from tests.program.mocks import evaluate


@pytest.fixture
def announced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    lines: list[str] = []
    monkeypatch.setattr(
        "components.stack.pulumi.log.info", lambda msg, *a, **k: lines.append(msg)
    )
    return lines


def test_build_announces_the_estimated_cost_of_the_hsms(announced: list[str]) -> None:
    evaluate(load_stack_config({"hsmCount": 3}, stack="test"))

    estimate = next(line for line in announced if line.startswith("ESTIMATE"))
    hsm_row = next(row for row in estimate.splitlines() if "hsm2m.medium" in row)
    assert hsm_row.split()[3] == "3"
    assert "NAT gateway" in estimate


def test_build_announces_no_estimate_for_an_unpriced_instance_type(
    announced: list[str],
) -> None:
    evaluate(load_stack_config({"instanceType": "m5.large"}, stack="test"))

    assert any(
        line.startswith("Cost estimate unavailable") and "m5.large" in line
        for line in announced
    )
