"""Typed access to provider results, whose `outs` Pulumi declares Optional."""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CreateResult, ReadResult, UpdateResult


def outs_of(result: CreateResult | ReadResult | UpdateResult) -> dict[str, Any]:
    """The result's outputs; fails the test when the provider returned none."""
    assert result.outs is not None, f"{type(result).__name__} without outputs"
    return result.outs
