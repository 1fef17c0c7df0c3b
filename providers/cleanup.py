"""Removes the KMS custom key store record that `pulumi destroy` had to leave.

KMS refuses to delete a key store that still holds keys, and keys pending
deletion count until their waiting period ends. So destroy stops every hourly
charge but keeps the disconnected record; once its keys are gone, run

    python -m providers.cleanup --custom-key-store-id cks-... [--region REGION]

It deletes nothing while a key remains: it prints each key with the date it
goes and exits 1. Otherwise it disconnects the store if needed and deletes it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from providers import aws
from providers.errors import FipsKeystoreError
from providers.key_store_connection import (
    CUSTOM_KEY_STORE_ID_PATTERN,
    GONE,
    describe_key_store,
    disconnect,
)
from providers.store_keys import StoreKey, keys_in_store, moment

EXIT_DELETED = 0
EXIT_KEYS_REMAIN = 1
EXIT_ERROR = 2
DISCONNECT_TIMEOUT_SECONDS = 1800


class KeyStoreNotEmpty(FipsKeystoreError):
    """The key store still holds keys, pending deletion or not."""

    def __init__(self, custom_key_store_id: str, keys: list[StoreKey]) -> None:
        self.custom_key_store_id = custom_key_store_id
        self.keys = keys
        lines = [f"  {key.describe()}" for key in keys]
        pending = [key.deletion_date for key in keys if key.deletion_date]
        super().__init__(
            f"Custom key store {custom_key_store_id} still holds {len(keys)} KMS "
            "key(s), so KMS cannot delete it:\n"
            + "\n".join(lines)
            + "\n"
            + _next_step(custom_key_store_id, keys, max(pending, default=None))
        )


def delete_key_store(custom_key_store_id: str, region: str | None) -> str:
    """Delete the store once it holds no key; return what was done, in a sentence."""
    keys = keys_in_store(custom_key_store_id, region)
    if keys:
        raise KeyStoreNotEmpty(custom_key_store_id, keys)

    store = describe_key_store(custom_key_store_id, region)
    if store.state == GONE:
        return f"Custom key store {custom_key_store_id} does not exist: nothing to do."
    disconnect(
        {
            "custom_key_store_id": custom_key_store_id,
            "region": region,
            "timeout_seconds": DISCONNECT_TIMEOUT_SECONDS,
        }
    )
    aws.client("kms", region).delete_custom_key_store(
        CustomKeyStoreId=custom_key_store_id
    )
    return f"Custom key store {custom_key_store_id} deleted."


def main(argv: Sequence[str] | None = None) -> int:
    """Run the cleanup; exit 0 when the store is gone, 1 while keys remain, 2 else."""
    arguments = _parse_arguments(argv)
    try:
        print(delete_key_store(arguments.custom_key_store_id, arguments.region))
    except KeyStoreNotEmpty as error:
        print(error, file=sys.stderr)
        return EXIT_KEYS_REMAIN
    except FipsKeystoreError as error:
        print(error, file=sys.stderr)
        return EXIT_ERROR
    except (ClientError, BotoCoreError) as error:
        print(_aws_failure(arguments.custom_key_store_id, error), file=sys.stderr)
        return EXIT_ERROR
    return EXIT_DELETED


def _parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m providers.cleanup",
        description="Delete the KMS custom key store that `pulumi destroy` left, "
        "once none of its keys remains (keys pending deletion count).",
    )
    parser.add_argument(
        "--custom-key-store-id",
        required=True,
        type=_store_id,
        help="the id `pulumi destroy` reported, e.g. cks-1234567890abcdef0",
    )
    parser.add_argument(
        "--region", help="default: AWS_REGION / AWS_DEFAULT_REGION or the profile's"
    )
    return parser.parse_args(argv)


def _store_id(value: str) -> str:
    if not CUSTOM_KEY_STORE_ID_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a custom key store id: give the cks-... id that "
            "`pulumi destroy` reported (or `aws kms describe-custom-key-stores`)"
        )
    return value


def _next_step(
    custom_key_store_id: str, keys: list[StoreKey], last_date: datetime | None
) -> str:
    command = f"python -m providers.cleanup --custom-key-store-id {custom_key_store_id}"
    live = [key.key_id for key in keys if key.deletion_date is None]
    if not live and last_date is not None:
        return f"Run `{command}` again after {moment(last_date)}."
    return (
        f"Key(s) {', '.join(live)} are not scheduled for deletion. Deleting a "
        "KMS key makes everything encrypted under it unreadable forever: if you "
        "are sure, run `aws kms schedule-key-deletion --key-id <id> "
        f"--pending-window-in-days 7`, then run `{command}` after that date."
    )


def _aws_failure(custom_key_store_id: str, error: Exception) -> str:
    return (
        f"AWS refused the cleanup of custom key store {custom_key_store_id}: "
        f"{aws.error_code(error)}: {error}. Check the id, the Region and your "
        "credentials (kms:ListKeys, kms:DescribeKey, kms:DescribeCustomKeyStores, "
        "kms:DisconnectCustomKeyStore, kms:DeleteCustomKeyStore), then run again."
    )


if __name__ == "__main__":
    sys.exit(main())
