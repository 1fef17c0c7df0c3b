"""The emulator's base exception, so callers can catch every emulator error at once."""


class EmulatorError(Exception):
    """Base class of every error raised by `rehearsal.emulator`."""
