"""The emulator that the rehearsal tests of a session share, one stack per run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.rehearsal.rehearsal_capture import SharedEmulator, start_shared_emulator


@pytest.fixture(scope="session")
def shared_emulator(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SharedEmulator]:
    """A fast emulator started once; each rehearsal on it is its own stack."""
    yield from start_shared_emulator(tmp_path_factory)
