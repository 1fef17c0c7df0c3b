"""Console lines: resource events stamped with simulated time, provider lines not."""

import io
from typing import cast

from rehearsal.engine.console import Console
from rehearsal.engine.emulator_link import EmulatorLink


class SteppingLink:
    """A link whose clock reads what the test set last."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def now(self) -> float:
        return self.seconds


def test_line_is_stamped_with_simulated_time_since_the_start() -> None:
    link, out = SteppingLink(), io.StringIO()
    console = Console(cast(EmulatorLink, link), out)
    link.seconds = 754.0

    console.line("+ aws:ec2/vpc:Vpc network-vpc created")

    assert out.getvalue() == "[ 12m34s] + aws:ec2/vpc:Vpc network-vpc created\n"


def test_provider_log_line_carries_no_stamp_the_clock_cannot_vouch_for() -> None:
    link, out = SteppingLink(), io.StringIO()
    console = Console(cast(EmulatorLink, link), out)
    link.seconds = 3600.0

    console.provider_log("info: store cks-1 connection: CONNECTING after 1s")

    assert out.getvalue() == (
        "[       ]   | info: store cks-1 connection: CONNECTING after 1s\n"
    )
