"""Errors of the rehearsal engine; every one derives from `RehearsalError`."""


class RehearsalError(Exception):
    """Base of every error the rehearsal engine raises on purpose."""


class ConfigFileError(RehearsalError):
    """The stack configuration cannot be read or used for a rehearsal."""


class UnsupportedResourceError(RehearsalError):
    """The program uses a resource type or data source the rehearsal cannot apply."""


class DynamicProviderError(RehearsalError):
    """The dynamic provider server failed to start or answered with an error."""


class ProtectedResourceError(RehearsalError):
    """Destroy refused to start because protected resources are in the state."""


class StateError(RehearsalError):
    """The work directory holds no usable state for the requested step."""


class EmulatorError(RehearsalError):
    """The emulator could not be started, reached or stopped."""
