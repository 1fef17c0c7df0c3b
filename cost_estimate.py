"""Estimate what a running fips-keystore stack costs per hour and per month.

Prices come from the dated table below (on-demand list prices, us-east-1, as of
2026-11). The result is an estimate, not a quote: usage-based charges (NAT data
processing, data transfer, KMS requests beyond the free tier, the admin instance's
EBS volume) are left out, and Regions missing from the table use us-east-1 prices.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

HOURS_PER_MONTH = Decimal(730)
PRICES_AS_OF = "2026-11"
FALLBACK_REGION = "us-east-1"
RETIRED_HSM_TYPES = {"hsm1.medium"}


@dataclass(frozen=True)
class RegionPrices:
    """On-demand list prices in one Region, in US dollars."""

    hsm_hourly: Mapping[str, Decimal]
    instance_hourly: Mapping[str, Decimal]
    nat_gateway_hourly: Decimal
    public_ipv4_hourly: Decimal
    kms_key_monthly: Decimal
    custom_key_store_monthly: Decimal
    secret_monthly: Decimal


# Where each us-east-1 price comes from (checked 2026-11; AWS changes prices without
# notice, so treat every figure as an estimate):
# - hsm2m.medium $1.45/h: the AWS CloudHSM pricing page as remembered; the stored
#   reference pages did not show it (one third-party page says about $1.50/h).
#   Confirm at https://aws.amazon.com/cloudhsm/pricing/.
# - NAT gateway $0.045/h and public IPv4 address $0.005/h: Amazon VPC pricing,
#   matching several 2026 pricing guides.
# - t3 Linux instances: Amazon EC2 on-demand pricing (t3.micro $0.0104/h). Arm
#   types are refused by the stack config, so none is priced.
# - KMS key $1/month; a CloudHSM key store itself has no separate charge ("standard
#   AWS CloudHSM charges apply"): AWS KMS pricing page.
# - Secrets Manager $0.40 per secret per month: AWS Secrets Manager pricing page.
PRICE_TABLE: Mapping[str, RegionPrices] = {
    "us-east-1": RegionPrices(
        hsm_hourly={"hsm2m.medium": Decimal("1.45")},
        instance_hourly={
            "t3.nano": Decimal("0.0052"),
            "t3.micro": Decimal("0.0104"),
            "t3.small": Decimal("0.0208"),
            "t3.medium": Decimal("0.0416"),
        },
        nat_gateway_hourly=Decimal("0.045"),
        public_ipv4_hourly=Decimal("0.005"),
        kms_key_monthly=Decimal("1.00"),
        custom_key_store_monthly=Decimal("0.00"),
        secret_monthly=Decimal("0.40"),
    ),
}

NOT_INCLUDED = (
    "Not included: NAT gateway data processing and data transfer (per GB), KMS "
    "requests beyond the free tier, the admin instance's EBS volume, taxes."
)


@dataclass(frozen=True)
class CostItem:
    """One line of the estimate: what is billed, how many, and at what unit price."""

    item: str
    quantity: int
    unit_price: Decimal
    unit: str  # "hour" or "month": the period the list price is quoted for

    @property
    def hourly(self) -> Decimal:
        if self.unit == "hour":
            return self.unit_price * self.quantity
        return self.unit_price * self.quantity / HOURS_PER_MONTH

    @property
    def monthly(self) -> Decimal:
        if self.unit == "hour":
            return self.unit_price * self.quantity * HOURS_PER_MONTH
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class CostEstimate:
    """An estimate for one stack: its items, totals and the caveats that apply."""

    region: str
    price_region: str
    items: tuple[CostItem, ...]
    notes: tuple[str, ...]

    @property
    def hourly_total(self) -> Decimal:
        return sum((item.hourly for item in self.items), Decimal(0))

    @property
    def monthly_total(self) -> Decimal:
        return sum((item.monthly for item in self.items), Decimal(0))

    def lines(self) -> list[str]:
        """Render the estimate as a small text table, marked as an estimate."""
        header = f"ESTIMATE: prices as of {PRICES_AS_OF}, {self.price_region}"
        if self.price_region != self.region:
            header += f" (stack in {self.region})"
        rows = [
            f"{header}, on-demand; not a quote.",
            f"{'item':<40}{'qty':>4}{'unit price':>15}{'per hour':>12}"
            f"{'per month':>14}",
        ]
        rows += [_item_row(item) for item in self.items]
        rows.append(
            f"{'Total (estimate, 730 h month)':<59}"
            f"{_money(self.hourly_total, 4):>12}{_money(self.monthly_total, 2):>14}"
        )
        for note in self.notes:
            rows += textwrap.wrap(
                f"Note: {note}",
                width=85,
                subsequent_indent="  ",
                break_on_hyphens=False,
            )
        return rows


def estimate(
    hsm_type: str,
    hsm_count: int,
    instance_type: str,
    nat_gateways: int,
    region: str,
    *,
    key_store: bool = True,
    secrets: int = 2,
) -> CostEstimate:
    """Estimate the running cost of a stack with these HSMs, instance and gateways.

    `key_store` False leaves out the KMS key (a stack with `createKeyStore` false);
    `secrets` counts the Secrets Manager secrets (admin and kmsuser passwords).
    """
    _check_counts(hsm_count, nat_gateways, secrets)

    price_region = region if region in PRICE_TABLE else FALLBACK_REGION
    prices = PRICE_TABLE[price_region]
    items = _hsm_and_network_items(
        prices, hsm_type, hsm_count, instance_type, nat_gateways, price_region
    )
    items += _key_store_items(prices, key_store, secrets)

    notes = [f"Check current prices at https://aws.amazon.com/pricing/. {NOT_INCLUDED}"]
    if price_region != region:
        notes.insert(
            0,
            f"No prices for Region {region!r} in the table: {FALLBACK_REGION} "
            f"prices used; {region!r} prices may differ.",
        )
    return CostEstimate(region, price_region, tuple(items), tuple(notes))


def _check_counts(hsm_count: int, nat_gateways: int, secrets: int) -> None:
    if hsm_count < 1:
        raise ValueError(
            f"hsm_count must be at least 1, got {hsm_count}; a key store needs 2 "
            "HSMs in different Availability Zones."
        )
    if nat_gateways < 0:
        raise ValueError(f"nat_gateways must be 0 or more, got {nat_gateways}.")
    if secrets < 0:
        raise ValueError(f"secrets must be 0 or more, got {secrets}.")


def _hsm_and_network_items(
    prices: RegionPrices,
    hsm_type: str,
    hsm_count: int,
    instance_type: str,
    nat_gateways: int,
    price_region: str,
) -> list[CostItem]:
    hsm_price = _hsm_price(prices, hsm_type, price_region)
    instance_price = _instance_price(prices, instance_type, price_region)

    items = [
        CostItem(f"CloudHSM HSM {hsm_type}", hsm_count, hsm_price, "hour"),
        CostItem(f"Admin instance {instance_type}", 1, instance_price, "hour"),
    ]
    if nat_gateways:
        items += [
            CostItem("NAT gateway", nat_gateways, prices.nat_gateway_hourly, "hour"),
            CostItem(
                "Public IPv4 address (NAT gateway)",
                nat_gateways,
                prices.public_ipv4_hourly,
                "hour",
            ),
        ]
    return items


def _key_store_items(
    prices: RegionPrices, key_store: bool, secrets: int
) -> list[CostItem]:
    items = []
    if key_store:
        items += [
            CostItem(
                "KMS custom key store (no separate fee)",
                1,
                prices.custom_key_store_monthly,
                "month",
            ),
            CostItem("KMS key (symmetric)", 1, prices.kms_key_monthly, "month"),
        ]
    if secrets:
        items.append(
            CostItem("Secrets Manager secret", secrets, prices.secret_monthly, "month")
        )
    return items


def _hsm_price(prices: RegionPrices, hsm_type: str, price_region: str) -> Decimal:
    if hsm_type in prices.hsm_hourly:
        return prices.hsm_hourly[hsm_type]
    known = ", ".join(sorted(prices.hsm_hourly))
    if hsm_type in RETIRED_HSM_TYPES:
        raise ValueError(
            f"HSM type {hsm_type!r} can no longer be used for new clusters, so it "
            f"has no price in the table; estimate with one of: {known}."
        )
    raise ValueError(
        f"Unknown HSM type {hsm_type!r}: the {price_region} price table knows "
        f"{known}. Pass one of these, or add the type's hourly price to "
        "PRICE_TABLE in cost_estimate.py."
    )


def _instance_price(
    prices: RegionPrices, instance_type: str, price_region: str
) -> Decimal:
    if instance_type in prices.instance_hourly:
        return prices.instance_hourly[instance_type]
    known = ", ".join(sorted(prices.instance_hourly))
    raise ValueError(
        f"Unknown instance type {instance_type!r}: the {price_region} price table "
        f"knows {known}. Pass one of these, or add the type's on-demand hourly "
        "price to PRICE_TABLE in cost_estimate.py."
    )


def _item_row(item: CostItem) -> str:
    unit_price = f"{_money(item.unit_price, 4)}/{item.unit}"
    return (
        f"{item.item:<40}{item.quantity:>4}{unit_price:>15}"
        f"{_money(item.hourly, 4):>12}{_money(item.monthly, 2):>14}"
    )


def _money(amount: Decimal, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    return f"${amount.quantize(quantum, rounding=ROUND_HALF_UP):,}"


def main(argv: Sequence[str] | None = None) -> int:
    """Print an estimate for the options given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hsm-type", default="hsm2m.medium")
    parser.add_argument("--hsm-count", type=int, default=2)
    parser.add_argument("--instance-type", default="t3.micro")
    parser.add_argument("--nat-gateways", type=int, default=1)
    parser.add_argument("--region", default=FALLBACK_REGION)
    parser.add_argument("--secrets", type=int, default=2)
    parser.add_argument(
        "--no-key-store", action="store_true", help="stack with createKeyStore false"
    )
    args = parser.parse_args(argv)

    try:
        result = estimate(
            args.hsm_type,
            args.hsm_count,
            args.instance_type,
            args.nat_gateways,
            args.region,
            key_store=not args.no_key_store,
            secrets=args.secrets,
        )
    except ValueError as error:
        print(f"cost_estimate: {error}", file=sys.stderr)
        return 2
    print("\n".join(result.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
