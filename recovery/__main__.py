"""`python -m recovery --stack S`: the refresh that repairs an interrupted `up`.

Reads the stack state (`pulumi stack export`, or a file it wrote), looks each
pending create up in AWS and prints the `pulumi refresh` command to run before
the next `pulumi up`. Exits 1, saying what to do by hand, when a pending create
cannot be resolved safely.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from recovery import RecoveryError
from recovery.plan import PendingCreate, RecoveryPlan, plan_recovery


def pending_creates(document: dict[str, Any]) -> list[PendingCreate]:
    """The pending creates of a `pulumi stack export` document."""
    deployment = document.get("deployment") or {}
    return [
        PendingCreate(
            operation["resource"]["urn"],
            operation["resource"]["type"],
            operation["resource"].get("inputs") or {},
        )
        for operation in deployment.get("pending_operations") or []
        if operation.get("type") == "creating"
    ]


def recorded_ids(document: dict[str, Any]) -> set[str]:
    """Ids of every resource the state already records."""
    resources = (document.get("deployment") or {}).get("resources") or []
    return {str(resource["id"]) for resource in resources if resource.get("id")}


def describe(plan: RecoveryPlan, stack: str) -> str:
    """What the plan does, line by line, and the command to run."""
    lines = [f"import {urn} as {id_}" for urn, id_ in plan.imports.items()]
    lines += [f"clear {urn}: {why}" for urn, why in plan.cleared.items()]
    lines += [f"UNRESOLVED {urn}: {why}" for urn, why in plan.unresolved.items()]
    if not lines:
        return f"Stack {stack} has no pending creates: run `pulumi up`."
    if plan.complete:
        command = shlex.join(plan.refresh_command(stack))
        lines += ["Run, then `pulumi up`:", f"  {command}"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the recovery plan; 0 when it is complete, 1 when a person must act."""
    arguments = _arguments(argv)
    try:
        document = _state(arguments)
        plan = plan_recovery(pending_creates(document), recorded_ids(document))
    except RecoveryError as error:
        print(f"recovery: {error}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(
            f"recovery: AWS refused a read ({error}). Use the credentials and "
            "Region of the stack (AWS_PROFILE, AWS_REGION), then run it again.",
            file=sys.stderr,
        )
        return 2
    print(describe(plan, arguments.stack))
    return 0 if plan.complete else 1


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m recovery",
        description="Find what an interrupted `pulumi up` created and print the "
        "`pulumi refresh` that records it. Reads AWS only.",
    )
    parser.add_argument("--stack", required=True)
    parser.add_argument(
        "--state", type=Path, help="output of `pulumi stack export` (default: run it)"
    )
    return parser.parse_args(argv)


def _state(arguments: argparse.Namespace) -> dict[str, Any]:
    if arguments.state is not None:
        try:
            text = arguments.state.read_text()
        except OSError as error:
            raise RecoveryError(
                f"cannot read --state {arguments.state} ({error.strerror}); write "
                f"it with `pulumi stack export --stack {arguments.stack} > "
                f"{arguments.state}` and run again"
            ) from error
        return _parsed(text, str(arguments.state))
    try:
        exported = subprocess.run(
            ["pulumi", "stack", "export", "--stack", arguments.stack],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise RecoveryError(
            f"`pulumi stack export --stack {arguments.stack}` failed ({error}); "
            "run it yourself into a file and pass it with --state FILE"
        ) from error
    return _parsed(exported, "pulumi stack export")


def _parsed(text: str, source: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise RecoveryError(
            f"{source} is not JSON ({error}); give the unmodified output of "
            "`pulumi stack export`"
        ) from error
    if not isinstance(document, dict):
        raise RecoveryError(
            f"{source} holds a JSON {type(document).__name__}, not a `pulumi stack "
            "export` document (an object); give the unmodified output of `pulumi "
            "stack export`"
        )
    if not isinstance(document.get("deployment"), dict):
        # Without it every stack would look as if it had nothing pending.
        raise RecoveryError(
            f"{source} has no deployment section, so it is not a `pulumi stack "
            "export` document; give the unmodified output of `pulumi stack export`"
        )
    return document


if __name__ == "__main__":
    sys.exit(main())
