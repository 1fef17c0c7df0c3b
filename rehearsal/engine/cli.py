"""`python -m rehearsal`: rehearse the whole stack against the local AWS emulator."""

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from rehearsal.emulator import PROFILES
from rehearsal.engine.config import (
    load_config_file,
    load_stack_config,
    stack_name_of,
)
from rehearsal.engine.emulator_link import AttachedEmulator
from rehearsal.engine.errors import RehearsalError
from rehearsal.engine.report import Report
from rehearsal.engine.runner import STEPS, Rehearsal, RehearsalOptions

PROJECT_DIR = Path(__file__).resolve().parents[2]


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, as documented in the README."""
    parser = argparse.ArgumentParser(
        prog="python -m rehearsal",
        description="Run the fips-keystore program end to end against the local "
        "AWS emulator: up, verify, refresh, up again, destroy. Times are simulated.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--stack", help="reads Pulumi.<stack>.yaml (default dev)")
    source.add_argument("--config-file", type=Path, help="a file shaped like it")
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="fast",
        help="AWS durations: fast (seconds) or realistic (estimates of AWS's); "
        "default fast",
    )
    parser.add_argument("--faults", default="", help="e.g. throttle=0.1,ssm=fail")
    parser.add_argument("--workdir", type=Path, help="default .rehearsal/<stack>")
    parser.add_argument("--report", type=Path, help="default <workdir>/report.json")
    parser.add_argument(
        "--step",
        choices=STEPS,
        default="all",
        help="all (default): up, checks, refresh, up again, destroy; or one step, "
        "the next run continuing with the same --workdir",
    )
    parser.add_argument(
        "--emulator-url",
        metavar="URL",
        help="use an emulator already running (`python -m rehearsal.emulator`) "
        "and leave it running: stacks rehearsed against it share one account",
    )
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="one resource operation at a time (the baseline of `make bench`)",
    )
    parser.add_argument(
        "--interrupt-after",
        metavar="NAME[,NAME...]",
        help="end `up` right after creating a named resource, before recording it",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the rehearsal; exit 0 only when every step and check passed."""
    arguments = parse_arguments(argv)
    # The in-process emulator's HTTP server would log every request.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        options = _options(arguments)
    except RehearsalError as error:
        print(f"rehearsal: {error}", file=sys.stderr)
        _write_error_report(arguments, str(error))
        return 2

    report = Rehearsal(options).run()
    print(report.summary())
    print(f"report: {options.report_path}")
    return 1 if report.failed else 0


def _write_error_report(arguments: argparse.Namespace, error: str) -> None:
    # Nothing ran, but whoever reads the report (CI) learns why.
    stack = arguments.stack or "dev"
    if arguments.config_file is not None:
        stack = stack_name_of(arguments.config_file)
    workdir = arguments.workdir or PROJECT_DIR / ".rehearsal" / stack
    report = Report(stack, arguments.profile, error=error)
    report.write(arguments.report or workdir / "report.json")


def _options(arguments: argparse.Namespace) -> RehearsalOptions:
    if arguments.config_file is not None:
        config = load_config_file(arguments.config_file, PROJECT_DIR)
    else:
        config = load_stack_config(PROJECT_DIR, arguments.stack or "dev")

    workdir = arguments.workdir or PROJECT_DIR / ".rehearsal" / config.stack
    emulator = None
    if arguments.emulator_url:
        region = config.get("aws:region") or "us-east-1"
        emulator = AttachedEmulator(arguments.emulator_url, region, arguments.profile)
    return RehearsalOptions(
        project_dir=PROJECT_DIR,
        config=config,
        workdir=workdir,
        report_path=arguments.report or workdir / "report.json",
        profile=arguments.profile,
        faults=arguments.faults,
        step=arguments.step,
        emulator=emulator,
        sequential=arguments.sequential,
        interrupt_after=arguments.interrupt_after,
    )
