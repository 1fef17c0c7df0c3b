"""In-process `cloudhsm-cli` and `configure-cli` for the emulated instances."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server import Emulator


def install(emulator: Emulator) -> None:
    """Serve the simulators' calls on POST /_emulator/hsm/command."""
