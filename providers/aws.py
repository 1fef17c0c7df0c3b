"""The one place the providers make boto3 clients.

Clients are made per call and never stored: providers are pickled by Pulumi, and
a client holds sockets and locks. Endpoint and credentials come only from the
standard AWS environment (`AWS_ENDPOINT_URL`, profiles, instance roles).
"""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

from providers.errors import FipsKeystoreError

# botocore's "standard" mode retries throttling and 5xx answers with backoff, so
# no provider wraps a single API call in a retry loop of its own.
DEFAULT_RETRIES = {"mode": "standard", "max_attempts": 10}
# The standard AWS variables that override those defaults, as for any AWS tool.
RETRY_VARIABLES = {"mode": "AWS_RETRY_MODE", "max_attempts": "AWS_MAX_ATTEMPTS"}


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
    return session.client(service, region_name=resolved, config=client_config())


def client_config() -> Config:
    """Our retry defaults, except where AWS_RETRY_MODE / AWS_MAX_ATTEMPTS are set."""
    retries = {
        key: value
        for key, value in DEFAULT_RETRIES.items()
        if not os.environ.get(RETRY_VARIABLES[key])
    }
    return Config(retries=retries, user_agent_extra="fips-keystore")


def error_code(error: Exception) -> str:
    """Return the AWS error code of a botocore ClientError, or '' for others."""
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(error: Exception) -> str:
    """Return the AWS error message of a botocore ClientError, or '' for others."""
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Message", ""))


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
