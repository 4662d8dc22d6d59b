"""The errors of a bus set up in a way that cannot work."""

from __future__ import annotations

__all__ = ["ConfigurationError", "MissingDependencyError", "MissingHandlerError"]


class ConfigurationError(RuntimeError):
    """The handlers or the bus are set up in a way that cannot work."""


class MissingHandlerError(ConfigurationError):
    """A command was handled, but no handler is registered for its type."""


class MissingDependencyError(ConfigurationError):
    """A handler asks for a dependency that neither the bus nor ``handle`` gives."""
