"""The KMS keys that live in one custom key store, pending deletion or not.

KMS has no call that lists the keys of a key store, so every key of the account
and Region is described and its CustomKeyStoreId compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from providers import aws


@dataclass(frozen=True)
class StoreKey:
    """A KMS key in the key store: its state and, when pending, its deletion date."""

    key_id: str
    state: str
    deletion_date: datetime | None
    description: str = ""

    def describe(self) -> str:
        if self.deletion_date is not None:
            return (
                f"key {self.key_id}: {self.state}, deleted by KMS on "
                f"{moment(self.deletion_date)}"
            )
        return f"key {self.key_id}: {self.state}"


def moment(date: datetime) -> str:
    """A deletion date as people read it: `2026-01-08 00:05 UTC`."""
    return date.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def keys_in_store(
    custom_key_store_id: str, region: str | None = None, kms: Any = None
) -> list[StoreKey]:
    """Every KMS key of the account and Region that lives in the key store."""
    kms = kms or aws.client("kms", region)
    keys = []
    for key_id in _key_ids(kms):
        metadata = _metadata(kms, key_id)
        if metadata and metadata.get("CustomKeyStoreId") == custom_key_store_id:
            keys.append(
                StoreKey(
                    key_id,
                    str(metadata["KeyState"]),
                    metadata.get("DeletionDate"),
                    str(metadata.get("Description", "")),
                )
            )
    return keys


def _key_ids(kms: Any) -> Iterator[str]:
    for page in kms.get_paginator("list_keys").paginate():
        for key in page.get("Keys", []):
            yield str(key["KeyId"])


def _metadata(kms: Any, key_id: str) -> dict[str, Any] | None:
    try:
        return dict(kms.describe_key(KeyId=key_id)["KeyMetadata"])
    except kms.exceptions.NotFoundException:
        # Listed a moment ago, deleted since: its waiting period just ended.
        return None
