"""EC2 instances as SSM sees them: launch time on the simulated clock, role, user
data, and a sandbox directory standing in for the instance's file system.

An instance is SSM-online once its instance profile role has
`AmazonSSMManagedInstanceCore` attached and `instance_ssm_online` simulated
seconds have passed since launch; the CloudHSM client tools appear in its
sandbox `client_install` seconds later when the user data mentions
`cloudhsm-cli`. Instances launched other than through the RunInstances API
(straight into moto's backend) count as launched when first seen.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import moto_internals
from .moto_internals import Ec2Instance

if TYPE_CHECKING:
    from rehearsal.emulator import Emulator

SSM_POLICY_NAME = "AmazonSSMManagedInstanceCore"
CLIENT_MARKER = "cloudhsm-cli"
SIMULATOR_DIR = Path(__file__).parent / "bin"
CLIENT_TOOLS = ("cloudhsm-cli", "configure-cli")


@dataclass(frozen=True)
class ManagedInstance:
    """What SSM knows about one EC2 instance at one moment."""

    instance_id: str
    region: str
    launch_time: float
    user_data: str
    role_name: str | None
    policy_arns: tuple[str, ...]
    running: bool
    private_ip: str | None


class InstanceFleet:
    """Launch times and sandboxes of every EC2 instance in the emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._lock = threading.Lock()
        self._launch_times: dict[str, float] = {}
        self._last_launch: float | None = None

    def record_run_instances(self) -> None:
        """Note a RunInstances call before moto creates the instances."""
        with self._lock:
            self._assign_launch_times()
            self._last_launch = self._emulator.clock.now()

    def find(self, instance_id: str) -> ManagedInstance | None:
        with self._lock:
            self._assign_launch_times()
            for instance in moto_internals.ec2_instances():
                if instance.instance_id == instance_id:
                    return self._describe(instance)
        return None

    def all(self) -> list[ManagedInstance]:
        with self._lock:
            self._assign_launch_times()
            return [self._describe(i) for i in moto_internals.ec2_instances()]

    def is_online(self, instance: ManagedInstance) -> bool:
        profile = self._emulator.profile
        if not instance.running or not _has_ssm_policy(instance):
            return False
        online_at = instance.launch_time + profile.instance_ssm_online
        return self._emulator.clock.now() >= online_at

    def client_installed(self, instance: ManagedInstance) -> bool:
        profile = self._emulator.profile
        if CLIENT_MARKER not in instance.user_data or not self.is_online(instance):
            return False
        ready_at = (
            instance.launch_time + profile.instance_ssm_online + profile.client_install
        )
        return self._emulator.clock.now() >= ready_at

    def sandbox(self, instance: ManagedInstance) -> Path:
        """The instance's file system root, with the tools it has by now."""
        root = sandbox_path(self._emulator.workdir, instance.instance_id)
        (root / "opt/cloudhsm/bin").mkdir(parents=True, exist_ok=True)
        (root / "opt/cloudhsm/etc").mkdir(parents=True, exist_ok=True)
        (root / "usr/bin").mkdir(parents=True, exist_ok=True)
        _install_simulator("aws", root / "usr/bin/aws")
        if self.client_installed(instance):
            for tool in CLIENT_TOOLS:
                _install_simulator(tool, root / "opt/cloudhsm/bin" / tool)
        return root

    def _assign_launch_times(self) -> None:
        for instance in moto_internals.ec2_instances():
            if instance.instance_id not in self._launch_times:
                launched = self._last_launch
                if launched is None:
                    launched = self._emulator.clock.now()
                self._launch_times[instance.instance_id] = launched

    def _describe(self, instance: Ec2Instance) -> ManagedInstance:
        role_name, policy_arns = _role_of(instance)
        return ManagedInstance(
            instance_id=instance.instance_id,
            region=instance.region,
            launch_time=self._launch_times[instance.instance_id],
            user_data=instance.user_data,
            role_name=role_name,
            policy_arns=policy_arns,
            running=instance.running,
            private_ip=instance.private_ip,
        )


def sandbox_path(workdir: Path, instance_id: str) -> Path:
    return Path(workdir) / "instances" / instance_id


def _has_ssm_policy(instance: ManagedInstance) -> bool:
    return any(arn.endswith("/" + SSM_POLICY_NAME) for arn in instance.policy_arns)


def _role_of(instance: Ec2Instance) -> tuple[str | None, tuple[str, ...]]:
    if not instance.instance_profile_arn:
        return None, ()
    role = moto_internals.instance_profile_role(instance.instance_profile_arn)
    return role if role else (None, ())


def _install_simulator(tool: str, target: Path) -> None:
    # The copy runs with this interpreter (it has boto3), and its argv[0] is
    # the path the script asked for, as on a real instance.
    if target.exists():
        return
    source = (SIMULATOR_DIR / tool).read_text()
    body = source.split("\n", 1)[1] if source.startswith("#!") else source
    target.write_text(f"#!{sys.executable}\n{body}")
    target.chmod(0o755)
