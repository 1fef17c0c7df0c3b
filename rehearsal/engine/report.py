"""The rehearsal report (JSON) and the summary table printed at the end of a run."""

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi.runtime.rpc import is_rpc_secret

from rehearsal.engine.state import ResourceRecord

NOTE = (
    "All times are simulated seconds on the emulator's clock under the named timing "
    "profile, not measurements of AWS; real_seconds is how long the rehearsal ran. "
    "mean_poll_overhead_seconds bounds the time this project's polling added per "
    "finished wait; pulumi-aws's own waits (cluster, HSMs) are modelled as it polls, "
    "every 30 seconds, and counted apart. deploy_api_calls are the first up's."
)
PULUMI_AWS = "pulumi-aws"
SECRET = "[secret]"


@dataclass
class Report:
    """Everything a rehearsal run found out, filled in step by step."""

    stack: str
    profile: str
    outputs: dict[str, Any] = field(default_factory=dict)
    resources: list[dict[str, Any]] = field(default_factory=list)
    checks: dict[str, str] = field(default_factory=dict)
    simulated_deploy_seconds: float | None = None
    simulated_destroy_seconds: float | None = None
    critical_path_seconds: float | None = None
    critical_path: list[str] = field(default_factory=list)
    destroy_critical_path_seconds: float | None = None
    destroy_critical_path: list[str] = field(default_factory=list)
    waits: list[dict[str, Any]] = field(default_factory=list)
    api_calls: dict[str, dict[str, int]] = field(default_factory=dict)
    deploy_api_calls: int | None = None
    throttled_calls: int = 0
    remaining: list[dict[str, Any]] = field(default_factory=list)
    destroyed: bool = False
    # The background emulator a step left running, and how to stop it.
    emulator_running: str | None = None
    error: str | None = None
    real_seconds: float = 0.0

    @property
    def failed(self) -> bool:
        """True when the run stopped on an error or any check failed."""
        return self.error is not None or any(v != "pass" for v in self.checks.values())

    def set_outputs(self, outputs: Mapping[str, Any]) -> None:
        """Record the stack outputs with secret values replaced."""
        self.outputs = {key: _shown(value) for key, value in outputs.items()}

    def add_resources(self, step: str, records: Iterable[ResourceRecord]) -> None:
        """Record one step's operation on each custom resource."""
        for record in records:
            if record.custom and record.operation:
                self.resources.append(
                    {
                        "step": step,
                        "type": record.type,
                        "name": record.name,
                        "provider": record.provider_module or None,
                        "operation": record.operation,
                        "start": round(record.start, 3),
                        "end": round(record.end, 3),
                    }
                )

    def set_calls(self, calls: Iterable[Mapping[str, Any]]) -> None:
        """Count the emulator's recorded AWS calls by service and operation."""
        counted: dict[str, Counter[str]] = defaultdict(Counter)
        throttled = 0
        for call in calls:
            counted[str(call["service"])][str(call["operation"])] += 1
            throttled += call.get("outcome") == "throttled"
        self.api_calls = {
            service: dict(ops) for service, ops in sorted(counted.items())
        }
        self.throttled_calls = throttled

    def set_waits(self, waits: Iterable[Mapping[str, Any]]) -> None:
        """Record the finished waits the waiters reported to the emulator's clock."""
        self.waits = [dict(wait) for wait in waits]

    @property
    def program_waits(self) -> list[dict[str, Any]]:
        """The waits of this project's providers (not pulumi-aws's, as modelled)."""
        return [w for w in self.waits if w.get("waiter") != PULUMI_AWS]

    @property
    def mean_poll_overhead_seconds(self) -> float | None:
        """Mean over the program's finished waits of the time polling may have
        added (a bound: the last interval slept, within which the state changed)."""
        done = [w for w in self.program_waits if w.get("outcome") == "done"]
        if not done:
            return None
        total = sum(float(w["overhead_bound_seconds"]) for w in done)
        return round(total / len(done), 3)

    @property
    def api_calls_every_step(self) -> int:
        """Every AWS call of the run, all steps together."""
        return sum(sum(ops.values()) for ops in self.api_calls.values())

    def to_json(self) -> dict[str, Any]:
        """The report document, field by field."""
        return {
            "stack": self.stack,
            "profile": self.profile,
            "note": NOTE,
            "outputs": self.outputs,
            "resources": self.resources,
            "checks": self.checks,
            "simulated_deploy_seconds": self.simulated_deploy_seconds,
            "simulated_destroy_seconds": self.simulated_destroy_seconds,
            "critical_path_seconds": self.critical_path_seconds,
            "critical_path": self.critical_path,
            "destroy_critical_path_seconds": self.destroy_critical_path_seconds,
            "destroy_critical_path": self.destroy_critical_path,
            "waits": len(self.program_waits),
            "polls": sum(int(w.get("polls", 0)) for w in self.program_waits),
            "mean_poll_overhead_seconds": self.mean_poll_overhead_seconds,
            "pulumi_aws_waits": len(self.waits) - len(self.program_waits),
            "api_calls": self.api_calls,
            "api_calls_every_step": self.api_calls_every_step,
            "deploy_api_calls": self.deploy_api_calls,
            "throttled_calls": self.throttled_calls,
            "destroy": {"remaining": self.remaining},
            "emulator_running": self.emulator_running,
            "error": self.error,
            "real_seconds": round(self.real_seconds, 3),
        }

    def write(self, path: Path) -> None:
        """Write the report as indented JSON."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n")

    def summary(self) -> str:
        """A short table for the console."""
        rows = [("check", "result")] + sorted(self.checks.items())
        rows += [
            ("simulated deploy", _seconds(self.simulated_deploy_seconds)),
            ("simulated destroy", _seconds(self.simulated_destroy_seconds)),
            ("critical path", _seconds(self.critical_path_seconds)),
            ("destroy critical path", _seconds(self.destroy_critical_path_seconds)),
            ("poll overhead per wait", _overhead(self.mean_poll_overhead_seconds)),
            ("api calls of the first up", _count(self.deploy_api_calls)),
            ("api calls of every step", str(self.api_calls_every_step)),
            ("throttled calls", str(self.throttled_calls)),
            ("left after destroy", _count(self.destroyed and len(self.remaining))),
            ("real time", f"{self.real_seconds:.1f}s"),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {value}" for name, value in rows]
        lines += [f"left: {_leftover(item)}" for item in self.remaining]
        if self.emulator_running:
            lines.append(f"emulator: still running at {self.emulator_running}")
        if self.error:
            lines.append(f"error: {self.error}")
        return "\n".join(lines)


def _shown(value: Any) -> Any:
    if is_rpc_secret(value):
        return SECRET
    if isinstance(value, dict):
        return {key: _shown(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shown(item) for item in value]
    return value


def _leftover(item: Mapping[str, Any]) -> str:
    """One thing destroy left: what it is, until when, and how it goes."""
    text = f"{item['type']} {item['name']} {item.get('id') or ''}".rstrip()
    text += f", {item.get('state')}"
    if item.get("until"):
        text += f" until {item['until']} (simulated date)"
    if item.get("how"):
        after = item.get("delete_after")
        when = "now" if after == "now" else f"after {after} (simulated date)"
        text += f"; {when}: {item['how']}"
    return text


def _count(value: int | bool | None) -> str:
    return "-" if value is None or value is False else str(int(value))


def _overhead(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s, mean of upper bounds (simulated)"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    minutes, seconds = divmod(int(value), 60)
    return f"{minutes}m{seconds:02d}s (simulated)"
