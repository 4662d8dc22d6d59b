"""A sub-module whose import fails."""

from __future__ import annotations

raise ImportError("broken_pkg.broken: a dependency of this module is missing")
