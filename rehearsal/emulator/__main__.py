"""Run the emulator standalone: `python -m rehearsal.emulator --port N`."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import threading
from collections.abc import Sequence

from .errors import EmulatorError
from .faults import FaultPlan
from .profiles import PROFILES
from .server import Emulator

# moto settings for a process that is only the emulator, as the rehearsal's
# in-process emulator sets them. The program attaches AWS managed policies
# (server.AWS_MANAGED_POLICIES), which moto offers only when told to load them.
REQUIRED_MOTO_SETTINGS = {"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
# moto's 1,300 default AMIs cost seconds per fresh EC2 backend and the program
# reads none; export MOTO_EC2_LOAD_DEFAULT_AMIS=true to have them anyway.
DEFAULT_MOTO_SETTINGS = {"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m rehearsal.emulator",
        description="A local AWS (moto + CloudHSM, KMS key store and SSM models).",
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="fast")
    parser.add_argument("--faults", default="", help="e.g. throttle=0.1,ssm=fail")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        faults = FaultPlan.from_spec(arguments.faults, seed=arguments.seed)
    except EmulatorError as error:
        print(f"--faults: {error}", file=sys.stderr)
        return 2

    os.environ.update(REQUIRED_MOTO_SETTINGS)
    for name, value in DEFAULT_MOTO_SETTINGS.items():
        os.environ.setdefault(name, value)
    emulator = Emulator(
        profile=arguments.profile,
        region=arguments.region,
        seed=arguments.seed,
        port=arguments.port,
    )
    emulator.faults = faults
    with emulator:
        print("# the emulator is running; in another shell run:")
        for name, value in emulator.env().items():
            print(f"export {name}={shlex.quote(value)}")
        print("# press Ctrl-C to stop", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("# stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
