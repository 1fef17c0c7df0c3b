"""Timing profiles: how many simulated seconds each emulated AWS transition takes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TimingProfile:
    name: str
    cluster_create: float
    hsm_create: float
    cluster_initialize: float
    instance_ssm_online: float
    client_install: float
    key_store_connect: float
    key_store_disconnect: float
    hsm_delete: float
    cluster_delete: float
    # Run Command: an invocation is unknown to GetCommandInvocation for
    # `invocation_not_found` seconds, then Pending for `ssm_pending` more, then
    # InProgress until `ssm_command` seconds after SendCommand, which must be
    # longer than the two together.
    ssm_command: float
    invocation_not_found: float
    ssm_pending: float


FAST = TimingProfile(
    name="fast",
    cluster_create=2,
    hsm_create=3,
    cluster_initialize=2,
    instance_ssm_online=2,
    client_install=1,
    key_store_connect=3,
    key_store_disconnect=1,
    hsm_delete=1,
    cluster_delete=1,
    ssm_command=1,
    invocation_not_found=0.5,
    ssm_pending=0.25,
)

# The realistic durations are estimates from AWS documentation and reports of
# real deployments, not measurements; AWS publishes no guaranteed timings.
REALISTIC = TimingProfile(
    name="realistic",
    cluster_create=300,
    hsm_create=720,
    cluster_initialize=300,
    instance_ssm_online=180,
    client_install=60,
    key_store_connect=1200,
    key_store_disconnect=120,
    hsm_delete=300,
    cluster_delete=180,
    ssm_command=5,
    invocation_not_found=1,
    ssm_pending=1,
)

PROFILES: dict[str, TimingProfile] = {"fast": FAST, "realistic": REALISTIC}
