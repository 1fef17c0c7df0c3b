"""The one place the providers make boto3 clients.

Clients are made per call and never stored: providers are pickled by Pulumi, and
a client holds sockets and locks. Endpoint and credentials come only from the
standard AWS environment (`AWS_ENDPOINT_URL`, profiles, instance roles).
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

from providers.errors import FipsKeystoreError

# botocore's "standard" mode retries throttling and 5xx answers with backoff, so
# no provider wraps a single API call in a retry loop of its own.
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 10},
    user_agent_extra="fips-keystore",
)


def client(service: str, region: str | None = None) -> Any:
    """Return a boto3 client for `service` in `region` or the environment's Region."""
    session = _session()
    resolved = region or session.region_name
    if not resolved:
        raise FipsKeystoreError(
            f"No AWS Region for the {service} client: the resource's region input "
            "is empty and neither AWS_REGION nor AWS_DEFAULT_REGION is set. Set "
            "`pulumi config set aws:region <region>` and export AWS_REGION."
        )
    return session.client(service, region_name=resolved, config=_CLIENT_CONFIG)


def error_code(error: Exception) -> str:
    """Return the AWS error code of a botocore ClientError, or '' for others."""
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


@functools.cache
def _data_loader() -> botocore.loaders.Loader:
    # Service models are read-only JSON that take a third of a second to load
    # per new session; sharing the loader keeps that cost to once per process.
    # It holds no connection, credential or lock.
    return botocore.loaders.create_loader()


def _session() -> boto3.session.Session:
    core = botocore.session.Session()
    core.register_component("data_loader", _data_loader())
    return boto3.session.Session(botocore_session=core)
