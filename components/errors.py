"""Errors the components raise while the program composes the stack."""

from __future__ import annotations

from providers.errors import FipsKeystoreError


class ComponentError(FipsKeystoreError):
    """Base of the errors raised by fips-keystore components."""


class NetworkError(ComponentError):
    """The given or discovered network cannot hold the cluster."""
