"""Tests for the running-cost estimate of a fips-keystore stack."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cost_estimate import HOURS_PER_MONTH, PRICE_TABLE, estimate, main

US_EAST_1 = PRICE_TABLE["us-east-1"]


def _item(result, prefix):
    matches = [item for item in result.items if item.item.startswith(prefix)]
    assert len(matches) == 1, [item.item for item in result.items]
    return matches[0]


def test_estimate_totals_add_up_from_items():
    result = estimate("hsm2m.medium", 3, "t3.micro", 2, "us-east-1")

    assert result.hourly_total == sum(item.hourly for item in result.items)
    assert result.monthly_total == sum(item.monthly for item in result.items)
    assert result.monthly_total == pytest.approx(
        result.hourly_total * HOURS_PER_MONTH, abs=Decimal("1e-9")
    )


def test_estimate_items_follow_price_table():
    result = estimate("hsm2m.medium", 3, "t3.micro", 2, "us-east-1")

    hsm = _item(result, "CloudHSM HSM hsm2m.medium")
    assert hsm.quantity == 3
    assert hsm.hourly == 3 * US_EAST_1.hsm_hourly["hsm2m.medium"]
    assert _item(result, "Admin instance t3.micro").hourly == Decimal("0.0104")
    assert _item(result, "NAT gateway").monthly == 2 * Decimal("0.045") * 730
    assert _item(result, "KMS key").monthly == Decimal("1.00")
    assert _item(result, "KMS custom key store").monthly == Decimal(0)
    assert _item(result, "Secrets Manager").monthly == Decimal("0.80")


def test_estimate_without_nat_or_key_store_leaves_those_items_out():
    result = estimate(
        "hsm2m.medium", 2, "t3.micro", 0, "us-east-1", key_store=False, secrets=1
    )

    names = [item.item for item in result.items]
    assert not [name for name in names if name.startswith(("NAT", "Public", "KMS"))]
    assert _item(result, "Secrets Manager").monthly == Decimal("0.40")


def test_estimate_unknown_region_falls_back_with_note():
    result = estimate("hsm2m.medium", 2, "t3.micro", 1, "eu-west-3")
    reference = estimate("hsm2m.medium", 2, "t3.micro", 1, "us-east-1")

    assert result.region == "eu-west-3"
    assert result.price_region == "us-east-1"
    assert result.monthly_total == reference.monthly_total
    assert "No prices for Region 'eu-west-3'" in result.notes[0]
    assert "us-east-1 prices used" in result.notes[0]
    assert not any("No prices for Region" in note for note in reference.notes)


def test_estimate_unknown_hsm_type_raises_value_error():
    with pytest.raises(ValueError) as raised:
        estimate("hsm9.huge", 2, "t3.micro", 1, "us-east-1")

    message = str(raised.value)
    assert "Unknown HSM type 'hsm9.huge'" in message
    assert "hsm2m.medium" in message
    assert "PRICE_TABLE in cost_estimate.py" in message


def test_estimate_retired_hsm_type_raises_value_error():
    with pytest.raises(ValueError, match="'hsm1.medium' can no longer be used"):
        estimate("hsm1.medium", 2, "t3.micro", 1, "us-east-1")


def test_estimate_unknown_instance_type_raises_value_error():
    with pytest.raises(ValueError, match="Unknown instance type 'x9.tiny'.*t3.micro"):
        estimate("hsm2m.medium", 2, "x9.tiny", 1, "us-east-1")


@pytest.mark.parametrize(
    ("hsm_count", "nat_gateways", "expected"),
    [(0, 1, "hsm_count must be at least 1, got 0"), (2, -1, "nat_gateways")],
)
def test_estimate_bad_count_raises_value_error(hsm_count, nat_gateways, expected):
    with pytest.raises(ValueError, match=expected):
        estimate("hsm2m.medium", hsm_count, "t3.micro", nat_gateways, "us-east-1")


def test_lines_marks_estimate_and_prints_totals():
    result = estimate("hsm2m.medium", 2, "t3.micro", 1, "us-east-1")

    lines = result.lines()

    assert lines[0].startswith("ESTIMATE: prices as of 2026-11, us-east-1")
    assert "not a quote" in lines[0]
    total = next(line for line in lines if line.startswith("Total (estimate"))
    assert f"${result.monthly_total.quantize(Decimal('0.01')):,}" in total
    assert all(len(line) <= 88 for line in lines)


def test_lines_unknown_region_names_both_regions():
    lines = estimate("hsm2m.medium", 2, "t3.micro", 1, "ap-south-2").lines()

    assert "us-east-1 (stack in ap-south-2)" in lines[0]
    assert any("No prices for Region 'ap-south-2'" in line for line in lines)


def test_main_unknown_hsm_type_exits_2_with_message(capsys):
    exit_code = main(["--hsm-type", "hsm9.huge"])

    assert exit_code == 2
    assert "Unknown HSM type 'hsm9.huge'" in capsys.readouterr().err


def test_main_defaults_print_table(capsys):
    assert main([]) == 0

    out = capsys.readouterr().out
    expected = estimate("hsm2m.medium", 2, "t3.micro", 1, "us-east-1")
    assert out.splitlines() == expected.lines()
