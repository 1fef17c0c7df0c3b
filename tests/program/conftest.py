"""Fixtures of the program tests: a fresh Pulumi runtime per test."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pulumi.runtime import config as runtime_config
from pulumi.runtime import settings


@pytest.fixture(autouse=True)
def pulumi_runtime() -> Iterator[None]:
    """Each test gets its own event loop and leaves no mocks or config behind."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    settings.reset_options()
    runtime_config.set_all_config({}, [])
    asyncio.set_event_loop(None)
    loop.close()
