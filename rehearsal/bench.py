"""`make bench`: the dev stack rehearsed on the realistic profile, as the program
applies it and one resource at a time, with the performance figures side by side.

Prints a table and writes `build/bench.json`. Deploy and destroy times, chains
and polling overhead are simulated seconds on the emulator's clock (estimates of
AWS durations, not measurements); real_seconds is how long each rehearsal ran.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rehearsal.engine.config import load_stack_config
from rehearsal.engine.runner import Rehearsal, RehearsalOptions

PROJECT_DIR = Path(__file__).resolve().parents[1]
TARGETS = {
    "deploy_ratio": 1.03,
    "destroy_ratio": 1.05,
    "api_calls_total": 300,
    "mean_poll_overhead_seconds": 10.0,
    "real_seconds": 30.0,
}


def rehearse(
    stack: str, profile: str, workdir: Path, sequential: bool
) -> dict[str, Any]:
    """One whole rehearsal (`--step all`); its report document."""
    options = RehearsalOptions(
        project_dir=PROJECT_DIR,
        config=load_stack_config(PROJECT_DIR, stack),
        workdir=workdir,
        report_path=workdir / "report.json",
        profile=profile,
        sequential=sequential,
    )
    return Rehearsal(options).run().to_json()


def figures(report: Mapping[str, Any]) -> dict[str, Any]:
    """The benchmark's figures of one rehearsal report."""
    calls = report["api_calls"]
    deploy, chain = report["simulated_deploy_seconds"], report["critical_path_seconds"]
    destroy = report["simulated_destroy_seconds"]
    destroy_chain = report["destroy_critical_path_seconds"]
    return {
        "simulated_deploy_seconds": deploy,
        "critical_path_seconds": chain,
        "deploy_ratio": _ratio(deploy, chain),
        "simulated_destroy_seconds": destroy,
        "destroy_critical_path_seconds": destroy_chain,
        "destroy_ratio": _ratio(destroy, destroy_chain),
        # The budget is a deployment's: the calls of the first `up`.
        "api_calls_total": report["deploy_api_calls"],
        "api_calls_every_step": sum(sum(ops.values()) for ops in calls.values()),
        "api_calls": calls,
        "waits": report["waits"],
        "mean_poll_overhead_seconds": report["mean_poll_overhead_seconds"],
        "real_seconds": report["real_seconds"],
        "error": report["error"],
    }


def bench_document(parallel: Mapping[str, Any], sequential: Mapping[str, Any]) -> dict:
    """`build/bench.json`: the program's figures, the baseline's, and the targets."""
    return {
        "note": "Times are simulated seconds on the emulator's clock (realistic "
        "profile, estimates of AWS), except real_seconds. The sequential run "
        "applies one resource operation at a time. api_calls_total counts the "
        "deployment (the first up); api_calls (by operation) and "
        "api_calls_every_step cover up, checks, refresh, up again and destroy. "
        "Waits and poll overhead are the program's own; pulumi-aws's cluster and "
        "HSM waits are modelled as it polls, every 30 seconds.",
        **parallel,
        "sequential_deploy_seconds": sequential["simulated_deploy_seconds"],
        "sequential_destroy_seconds": sequential["simulated_destroy_seconds"],
        "sequential": dict(sequential),
        "targets": TARGETS,
        "targets_met": targets_met(parallel),
    }


def targets_met(measured: Mapping[str, Any]) -> dict[str, bool]:
    """Each performance target against the measured figure (None fails)."""
    return {
        key: measured.get(key) is not None and measured[key] <= limit
        for key, limit in TARGETS.items()
    }


def table(parallel: Mapping[str, Any], sequential: Mapping[str, Any]) -> str:
    """The console table: one row per figure, then API calls by operation."""
    rows = [("figure", "program", "one at a time")]
    for label, key, shown in _ROWS:
        rows.append((label, shown(parallel[key]), shown(sequential[key])))
    rows.append(("", "", ""))
    for operation, count in _calls_by_operation(parallel["api_calls"]):
        rows.append((f"calls {operation}", str(count), ""))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}".rstrip()
        for a, b, c in rows
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run both rehearsals, print the table, write the JSON; 1 if a target is missed."""
    arguments = _parse(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    out = arguments.output_dir
    runs = {}
    for name, sequential in (("program", False), ("sequential", True)):
        report = rehearse(arguments.stack, "realistic", out / name, sequential)
        runs[name] = figures(report)

    document = bench_document(runs["program"], runs["sequential"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(document, indent=2) + "\n")
    print(table(runs["program"], runs["sequential"]))
    missed = [key for key, met in document["targets_met"].items() if not met]
    print(f"targets missed: {', '.join(missed)}" if missed else "every target met")
    print(f"written: {out / 'bench.json'}")
    return 1 if missed or runs["program"]["error"] else 0


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m rehearsal.bench",
        description="Rehearse the stack on the realistic profile as the program "
        "applies it and one resource at a time; print and write the figures.",
    )
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--output-dir", type=Path, default=PROJECT_DIR / "build")
    return parser.parse_args(argv)


def _ratio(seconds: float | None, chain: float | None) -> float | None:
    if seconds is None or not chain:
        return None
    return round(seconds / chain, 4)


def _simulated(value: float | None) -> str:
    if value is None:
        return "-"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes}m{seconds:02d}s sim"


def _plain(value: Any) -> str:
    return "-" if value is None else str(value)


def _real(value: float) -> str:
    return f"{value:.1f}s real"


def _overhead(value: float | None) -> str:
    return "-" if value is None else f"<= {value:.1f}s sim"


def _calls_by_operation(calls: Mapping[str, Mapping[str, int]]) -> list[tuple]:
    flat = [
        (f"{service}:{operation}", count)
        for service, operations in calls.items()
        for operation, count in operations.items()
    ]
    return sorted(flat, key=lambda item: (-item[1], item[0]))


_ROWS = (
    ("deploy (simulated)", "simulated_deploy_seconds", _simulated),
    ("deploy chain (simulated)", "critical_path_seconds", _simulated),
    ("deploy / chain", "deploy_ratio", _plain),
    ("destroy (simulated)", "simulated_destroy_seconds", _simulated),
    ("destroy chain (simulated)", "destroy_critical_path_seconds", _simulated),
    ("destroy / chain", "destroy_ratio", _plain),
    ("api calls of the deployment (up)", "api_calls_total", _plain),
    ("api calls, every step", "api_calls_every_step", _plain),
    ("waits", "waits", _plain),
    ("poll overhead per wait", "mean_poll_overhead_seconds", _overhead),
    ("real time", "real_seconds", _real),
)


if __name__ == "__main__":
    sys.exit(main())
