"""A handlers module whose import fails; scanned by one test only."""

from __future__ import annotations

raise ImportError("broken_handlers: a dependency of this module is missing")
